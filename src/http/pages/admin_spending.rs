//! The admins' page of allowances, spend limits and approval rules: one form, people named by
//! e-mail and models by id, one rule a line where there can be many.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::ids::UserId;
use crate::domain::spending::{Allowance, PerRole, SpendingSettings};
use crate::domain::user::User;
use crate::http::auth::{Admin, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with};
use crate::services::ServiceError;
use crate::services::identity::accounts;
use crate::services::team::spending;

#[derive(Template)]
#[template(path = "admin/spending.html")]
struct SpendingPage {
    layout: Layout,
    form: SpendingForm,
}

/// The form as posted, and as shown (every field text, empty for "none").
#[derive(Deserialize, Default)]
pub struct SpendingForm {
    #[serde(default)]
    zone: String,
    #[serde(default)]
    allowance_admin: String,
    #[serde(default)]
    rollover_admin: String,
    #[serde(default)]
    allowance_member: String,
    #[serde(default)]
    rollover_member: String,
    #[serde(default)]
    daily_admin: String,
    #[serde(default)]
    daily_member: String,
    #[serde(default)]
    approval_admin: String,
    #[serde(default)]
    approval_member: String,
    #[serde(default)]
    expiry_hours: String,
    /// One e-mail a line.
    #[serde(default)]
    approvers: String,
    /// `email = monthly / rollover cap`, one a line.
    #[serde(default)]
    person_allowances: String,
    /// `email = credits`, one a line.
    #[serde(default)]
    person_limits: String,
    /// `model = credits`, one a line.
    #[serde(default)]
    model_limits: String,
    /// `model = credits`, one a line.
    #[serde(default)]
    model_approvals: String,
}

fn text(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn lines<V>(map: &BTreeMap<String, V>, show: impl Fn(&V) -> String) -> String {
    map.iter().map(|(k, v)| format!("{k} = {}", show(v))).collect::<Vec<_>>().join("\n")
}

impl SpendingForm {
    fn from_settings(s: &SpendingSettings, people: &[User]) -> Self {
        let email = |id: &UserId| people.iter().find(|u| u.id == *id).map_or_else(|| id.to_string(), |u| u.email.to_string());
        let by_email = |m: &BTreeMap<UserId, String>| m.iter().map(|(k, v)| (email(k), v.clone())).collect::<BTreeMap<_, _>>();
        let allowances = s.person_allowance.iter().map(|(k, a)| (*k, format!("{} / {}", a.monthly, a.rollover_cap))).collect();
        let limits = s.person_daily_limit.iter().map(|(k, l)| (*k, l.to_string())).collect();
        SpendingForm {
            zone: s.zone.clone(),
            allowance_admin: text(s.allowance.admin.map(|a| a.monthly)),
            rollover_admin: text(s.allowance.admin.map(|a| a.rollover_cap)),
            allowance_member: text(s.allowance.member.map(|a| a.monthly)),
            rollover_member: text(s.allowance.member.map(|a| a.rollover_cap)),
            daily_admin: text(s.daily_limit.admin),
            daily_member: text(s.daily_limit.member),
            approval_admin: text(s.approval_above.admin),
            approval_member: text(s.approval_above.member),
            expiry_hours: s.approval_expiry_hours.to_string(),
            approvers: s.approvers.iter().map(email).collect::<Vec<_>>().join("\n"),
            person_allowances: lines(&by_email(&allowances), String::clone),
            person_limits: lines(&by_email(&limits), String::clone),
            model_limits: lines(&s.model_daily_limit, u64::to_string),
            model_approvals: lines(&s.model_approval_above, u64::to_string),
        }
    }

    /// The settings the form asks for, or what is wrong with it.
    fn to_settings(&self, people: &[User]) -> Result<SpendingSettings, String> {
        let person = |email: &str| {
            people
                .iter()
                .find(|u| u.email.as_str().eq_ignore_ascii_case(email.trim()))
                .map(|u| u.id)
                .ok_or_else(|| format!("nobody has the e-mail {:?}", email.trim()))
        };
        let allowance = |monthly: &str, cap: &str| -> Result<Option<Allowance>, String> {
            Ok(amount(monthly)?.map(|monthly| Allowance { monthly, rollover_cap: amount(cap).ok().flatten().unwrap_or(0) }))
        };
        let mut person_allowance = BTreeMap::new();
        for (who, value) in pairs(&self.person_allowances)? {
            let (monthly, cap) = value.split_once('/').unwrap_or((value.as_str(), "0"));
            let a = allowance(monthly, cap)?.ok_or_else(|| format!("write an allowance for {who}"))?;
            person_allowance.insert(person(&who)?, a);
        }
        let mut person_daily_limit = BTreeMap::new();
        for (who, value) in pairs(&self.person_limits)? {
            person_daily_limit.insert(person(&who)?, amount(&value)?.ok_or_else(|| format!("write a limit for {who}"))?);
        }
        let models = |text: &str| -> Result<BTreeMap<String, u64>, String> {
            pairs(text)?.into_iter().map(|(m, v)| Ok((m.clone(), amount(&v)?.ok_or_else(|| format!("write an amount for {m}"))?))).collect()
        };
        let approvers = self.approvers.lines().filter(|l| !l.trim().is_empty()).map(person).collect::<Result<Vec<_>, _>>()?;
        let expiry = self.expiry_hours.trim();
        Ok(SpendingSettings {
            zone: Some(self.zone.trim()).filter(|z| !z.is_empty()).unwrap_or("UTC").to_string(),
            allowance: PerRole {
                admin: allowance(&self.allowance_admin, &self.rollover_admin)?,
                member: allowance(&self.allowance_member, &self.rollover_member)?,
            },
            person_allowance,
            daily_limit: PerRole { admin: amount(&self.daily_admin)?, member: amount(&self.daily_member)? },
            person_daily_limit,
            model_daily_limit: models(&self.model_limits)?,
            approval_above: PerRole { admin: amount(&self.approval_admin)?, member: amount(&self.approval_member)? },
            model_approval_above: models(&self.model_approvals)?,
            approvers,
            approval_expiry_hours: if expiry.is_empty() {
                crate::domain::spending::DEFAULT_APPROVAL_EXPIRY_HOURS
            } else {
                expiry.parse().map_err(|_| format!("{expiry:?} is not a number of hours"))?
            },
        })
    }
}

/// A whole number of credits, or none for an empty field.
fn amount(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim().replace(',', "");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| format!("{text:?} is not a whole number of credits"))
}

/// The `key = value` lines of a field.
fn pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| format!("{:?}: write it as name = amount", l.trim()))
        })
        .collect()
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let settings = spending::settings(&state).await?;
    let people = accounts::list(&state).await?;
    let form = SpendingForm::from_settings(&settings, &people);
    ok(&req, &SpendingPage { layout: Layout::new(&req, Some(&admin.0.user)), form })
}

pub async fn save(req: HttpRequest, admin: Admin, form: web::Form<SpendingForm>) -> PageResult {
    let state = state(&req)?;
    let tr = lang::tr(&req);
    let people = accounts::list(&state).await?;
    let result = match form.to_settings(&people) {
        Ok(settings) => spending::save_settings(&state, &admin.0.ctx(), &admin.0.user, settings).await,
        Err(problem) => Err(ServiceError::InvalidMessage(problem)),
    };
    match result {
        Ok(_) => Ok(redirect_with(state.urls().admin_spending(), FlashKind::Success, &tr.t("flash-spending-saved"))),
        Err(e) => {
            let e = crate::error::AppError::from(e);
            Ok(redirect_with(state.urls().admin_spending(), FlashKind::Error, &crate::http::responses::error_text(&tr, &e)))
        }
    }
}
