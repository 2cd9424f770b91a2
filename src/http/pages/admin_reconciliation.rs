//! The "Reconciliation" page for admins: per model, the estimate of succeeded generations
//! against what the provider reported (drift flagged past 10 %), over a period, with CSV
//! downloads (`/api/v1/admin/reconciliation` answers the same).

use actix_web::{HttpRequest, web};
use askama::Template;

use super::layout::Layout;
use crate::domain::time::Timestamp;
use crate::http::api::admin_instance::{ReconciliationParams, csv_download};
use crate::http::auth::{Admin, state};
use crate::http::responses::{PageResult, ok};
use crate::services::team::reconciliation::{self, ModelReconciliation, NOTABLE_DRIFT_PERCENT, Reconciliation, number};

#[derive(Template)]
#[template(path = "admin/reconciliation.html")]
struct ReconciliationPage {
    layout: Layout,
    report: Reconciliation,
    /// The form's values, as given.
    days: String,
    from: String,
    to: String,
    /// The CSV downloads of this period.
    models_csv: String,
    generations_csv: String,
    notable: String,
}

impl ReconciliationPage {
    fn day(t: Timestamp) -> String {
        t.rfc3339().get(..10).unwrap_or("").to_string()
    }

    fn drift(&self, m: &ModelReconciliation) -> String {
        m.drift_percent().map(|d| format!("{}{} %", if d > 0.0 { "+" } else { "" }, number(d))).unwrap_or_default()
    }

    fn cents(&self, m: &ModelReconciliation) -> String {
        if m.with_cost > 0 { number(m.reported_cents) } else { String::new() }
    }
}

pub async fn show(req: HttpRequest, admin: Admin, query: web::Query<ReconciliationParams>) -> PageResult {
    let state = state(&req)?;
    let params = query.into_inner();
    let period = params.period(Timestamp::now())?;
    let report = reconciliation::report(&state, period).await?;
    let layout = Layout::new(&req, Some(&admin.0.user));
    // the downloads cover the period shown, by its days
    let (from, to) = (ReconciliationPage::day(period.from), ReconciliationPage::day(period.to));
    let csv = |per: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("from", &from)
            .append_pair("to", &to)
            .append_pair("per", per)
            .finish();
        format!("{}?{query}", layout.urls.admin_reconciliation_csv())
    };
    let (models_csv, generations_csv) = (csv("model"), csv("generation"));
    let given = |o: &Option<String>| o.clone().unwrap_or_default();
    let days = given(&params.days);
    let page = ReconciliationPage {
        layout,
        report,
        days,
        from: given(&params.from),
        to: given(&params.to),
        models_csv,
        generations_csv,
        notable: number(NOTABLE_DRIFT_PERCENT),
    };
    ok(&req, &page)
}

/// `GET /admin/reconciliation.csv`: the period's CSV (`per=model` or `per=generation`).
pub async fn export_csv(req: HttpRequest, _admin: Admin, query: web::Query<ReconciliationParams>) -> PageResult {
    Ok(csv_download(&req, &query).await?)
}
