//! The Usage page: credits spent by day (a bar chart drawn here as SVG, with the same figures
//! in a table), by model, provider and person, failures, and estimates against reported
//! costs, over a range of days; CSV downloads of each table. Admins see everyone and may pick
//! one person; members see themselves. `/api/v1/usage` answers the same.

use actix_web::{HttpRequest, web};
use askama::Template;

use super::layout::Layout;
use crate::domain::user::Role;
use crate::http::api::usage::{UsageParams, csv_download};
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{PageResult, ok};
use crate::services::identity::accounts;
use crate::services::team::usage::{Estimate, Scope, Spent, Usage, cents};

/// The chart's drawing area, in SVG units (it scales to the page's width).
const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 200.0;

/// One day's bar.
pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// "2026-01-31: 12 credits", for the bar's tooltip.
    pub label: String,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    layout: Layout,
    report: Usage,
    bars: Vec<Bar>,
    /// The tallest day, the chart's top.
    peak: u64,
    from: String,
    to: String,
    /// Admins' choice of person: (id, label, selected).
    people: Vec<(String, String, bool)>,
    is_admin: bool,
    /// The CSV downloads of what is shown, by group.
    csv: Vec<(&'static str, String)>,
}

/// One of the "spent by" tables.
struct SpentTable<'a> {
    /// Message keys of its heading and first column.
    title: &'static str,
    key: &'static str,
    rows: &'a [Spent],
    csv: &'a str,
    id: &'static str,
}

impl UsagePage {
    fn cents(&self, e: &Estimate) -> String {
        cents(e)
    }

    fn tables(&self) -> Vec<SpentTable<'_>> {
        let r = &self.report;
        let csv = |i: usize| self.csv.get(i).map_or("", |(_, url)| url.as_str());
        vec![
            SpentTable { title: "usage-by-model", key: "field-model", rows: &r.by_model, csv: csv(1), id: "usage-models" },
            SpentTable { title: "usage-by-provider", key: "generation-provider", rows: &r.by_provider, csv: csv(2), id: "usage-providers" },
            SpentTable { title: "usage-by-person", key: "usage-person", rows: &r.by_person, csv: csv(3), id: "usage-people" },
        ]
    }
}

/// The bars of `report.by_day`, scaled to the tallest day.
fn bars(report: &Usage, label: impl Fn(&str, u64) -> String) -> (Vec<Bar>, u64) {
    let peak = report.by_day.iter().map(|(_, c)| *c).max().unwrap_or(0);
    let slot = CHART_WIDTH / report.by_day.len().max(1) as f64;
    let bars = report
        .by_day
        .iter()
        .enumerate()
        .map(|(i, (day, credits))| {
            let height = if peak == 0 { 0.0 } else { *credits as f64 / peak as f64 * CHART_HEIGHT };
            Bar {
                x: format!("{:.2}", i as f64 * slot + slot * 0.1),
                y: format!("{:.2}", CHART_HEIGHT - height),
                width: format!("{:.2}", slot * 0.8),
                height: format!("{height:.2}"),
                label: label(&day.to_string(), *credits),
            }
        })
        .collect();
    (bars, peak)
}

pub async fn show(req: HttpRequest, who: SignedIn, query: web::Query<UsageParams>) -> PageResult {
    let state = state(&req)?;
    let params = query.into_inner();
    let report = params.report(&req, &who.user).await?;
    let layout = Layout::new(&req, Some(&who.user));
    let tr = layout.tr;
    let (bars, peak) = bars(&report, |day, credits| tr.t_args("usage-bar", &[("day", day.into()), ("credits", (credits as i64).into())]));
    let is_admin = who.user.role == Role::Admin;
    let chosen = match report.scope {
        Scope::Person(p) if is_admin => Some(p),
        _ => None,
    };
    let people = if is_admin {
        accounts::list(&state)
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), format!("{} <{}>", u.name, u.email), chosen == Some(u.id)))
            .collect()
    } else {
        Vec::new()
    };
    let (from, to) = (report.range.from.to_string(), report.range.to.to_string());
    let csv = ["day", "model", "provider", "person", "failure"]
        .into_iter()
        .map(|group| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("from", &from).append_pair("to", &to).append_pair("group", group);
            if let Some(p) = chosen {
                query.append_pair("person", &p.to_string());
            }
            (group, format!("{}?{}", layout.urls.usage_csv(), query.finish()))
        })
        .collect();
    ok(&req, &UsagePage { layout, report, bars, peak, from, to, people, is_admin, csv })
}

/// `GET /usage.csv`: the rows of one group (`?group=`), as the API's CSV.
pub async fn export_csv(req: HttpRequest, who: SignedIn, query: web::Query<UsageParams>) -> PageResult {
    Ok(csv_download(&req, &who.user, &query).await?)
}
