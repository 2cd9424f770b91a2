//! The catalog as one person sees it: every model with whether they may use it (and why
//! not) and its effective price, from the registry in force and the admins' model policies.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::catalog::data_use::DataUseTable;
use crate::domain::catalog::{ModelSpec, Price};
use crate::domain::model_policy::{self, ModelPolicy, Refusal};
use crate::domain::user::User;
use crate::providers::registry::Registry;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, StoreError};

/// One model as offered to one person.
#[derive(Debug, Clone)]
pub struct Offer {
    pub spec: Arc<ModelSpec>,
    /// The connection that would run it, when one serves it.
    pub connection: Option<String>,
    pub access: Result<(), Refusal>,
    /// The effective price (an admin's override, else the catalog's).
    pub price: Price,
}

impl Offer {
    pub fn usable(&self) -> bool {
        self.access.is_ok()
    }

    /// Why the person may not use it, in words.
    pub fn refusal(&self) -> Option<String> {
        self.access.as_ref().err().map(Refusal::to_string)
    }

    /// The refusal as the error a submit returns.
    pub fn check(&self) -> ServiceResult<()> {
        self.access.clone().map_err(|r| ServiceError::ModelDisabled { model: self.spec.id.to_string(), reason: r.to_string() })
    }
}

/// Every stored policy, by model id, and the instance's data-use rule: one snapshot to
/// decide many models.
#[derive(Debug, Clone)]
pub struct Policies {
    by_model: BTreeMap<String, ModelPolicy>,
    data_use: Arc<DataUseTable>,
    /// The instance forbids sending content to providers that may train on it.
    instance_forbids_training: bool,
}

impl Policies {
    pub fn get(&self, model: &str) -> Option<&ModelPolicy> {
        self.by_model.get(model)
    }

    /// Refuses a model whose provider may train on inputs when the person or the instance
    /// forbids that ("unknown" and "opt-out" count as may).
    fn training_rule(&self, spec: &ModelSpec, user: &User) -> Result<(), Refusal> {
        if !(self.instance_forbids_training || user.forbid_training) {
            return Ok(());
        }
        if self.data_use.may_train_on_inputs(&spec.provider).rules_out_training() {
            return Ok(());
        }
        let provider = self.data_use.get(&spec.provider).map_or_else(|| spec.provider.to_string(), |d| d.provider.clone());
        Err(Refusal::TrainingForbidden { by_instance: self.instance_forbids_training, provider })
    }

    /// The effective price of `spec`.
    pub fn price(&self, spec: &ModelSpec) -> Price {
        self.get(&spec.id).map_or_else(|| spec.price.clone(), |p| p.price(&spec.price))
    }

    /// `spec` as offered to `user` through `registry`.
    pub fn offer(&self, registry: &Registry, spec: &Arc<ModelSpec>, user: &User) -> Offer {
        let served = registry.availability(spec);
        Offer {
            connection: served.as_ref().ok().map(|c| c.to_string()),
            access: model_policy::access(served, self.get(&spec.id), user).and_then(|()| self.training_rule(spec, user)),
            price: self.price(spec),
            spec: spec.clone(),
        }
    }
}

/// The catalog entry of model `id`, if a connection still serves it (for labels on pages).
pub fn spec(state: &AppState, id: &str) -> Option<Arc<ModelSpec>> {
    state.registry().model(id).cloned()
}

/// The stored policies now.
pub async fn policies(state: &AppState) -> ServiceResult<Policies> {
    let (list, instance_forbids_training) =
        state.store.read(|tx| Ok::<_, StoreError>((store::model_policies::list(tx)?, store::meta::forbid_training(tx)?))).await?;
    Ok(Policies {
        by_model: list.into_iter().map(|p| (p.model.clone(), p)).collect(),
        data_use: state.data_use.clone(),
        instance_forbids_training,
    })
}

/// The whole catalog as `user` sees it, in catalog order.
pub async fn offers(state: &AppState, user: &User) -> ServiceResult<Vec<Offer>> {
    let policies = policies(state).await?;
    let registry = state.registry();
    Ok(registry.models().iter().map(|m| policies.offer(&registry, m, user)).collect())
}

/// The models `user` may use, in catalog order.
pub async fn usable(state: &AppState, user: &User) -> ServiceResult<Vec<Offer>> {
    Ok(offers(state, user).await?.into_iter().filter(Offer::usable).collect())
}

/// One model as `user` sees it; `UnknownModel` when the catalog has no such id.
pub async fn offer(state: &AppState, user: &User, id: &str) -> ServiceResult<Offer> {
    let registry = state.registry();
    let spec = registry.model(id).ok_or_else(|| ServiceError::UnknownModel(id.to_string()))?;
    let owned = spec.id.to_string();
    // two point reads of small tables, served from the store's cache: on this thread, as a
    // trip to the blocking pool would cost more than the reads (this runs on every submit)
    let (policy, instance_forbids_training) =
        state.store.read_now(|tx| Ok::<_, StoreError>((store::model_policies::get(tx, &owned)?, store::meta::forbid_training(tx)?)))?;
    let policies = Policies {
        by_model: policy.into_iter().map(|p| (p.model.clone(), p)).collect(),
        data_use: state.data_use.clone(),
        instance_forbids_training,
    };
    Ok(policies.offer(&registry, spec, user))
}
