//! Reconciliation end to end: a fake FLUX API reports a cost that differs from the catalog's
//! estimate; once the job has succeeded, the admin's page, `/api/v1/admin/reconciliation` and
//! its CSV show the drift for that model, and a member is refused all three.

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, image_bytes, origin, provider};
use crate::support::{api_get, client};

/// flux-pro-1.1 is estimated at 4 credits (= 4 US cents) an image.
const ESTIMATE: i64 = 4;
/// What the fake says the job cost, in BFL credits (1 credit = 1 US cent).
const REPORTED: f64 = 5.0;

async fn rig() -> ProviderRig {
    let image = image_bytes(image::ImageFormat::Jpeg, 32, 18, 5);
    provider("bfl", "bfl")
        .key("bfl-key")
        .credits(100)
        .serve(move |r: &Request| match r.route().as_str() {
            "POST /v1/flux-pro-1.1" => Reply::json(
                200,
                json!({"id": "t1", "polling_url": format!("{}v1/get_result?id=t1", origin(r)), "cost": REPORTED, "input_mp": 0, "output_mp": 1.03}),
            ),
            "GET /v1/get_result" => {
                Reply::json(200, json!({"id": "t1", "status": "Ready", "result": {"sample": format!("{}delivery/t1.jpg", origin(r))}}))
            }
            "GET /delivery/t1.jpg" => Reply::bytes(200, "image/jpeg", image.clone()),
            _ => Reply::status(404),
        })
        .await
}

/// A GET with the admin's token; the response with its body.
async fn get(rig: &ProviderRig, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", rig.app.url)).bearer_auth(&rig.token).send().await.unwrap()
}

#[tokio::test]
async fn a_reported_cost_shows_as_drift_per_model_in_the_api_the_csv_and_the_page() {
    let rig = rig().await;
    let done = rig.succeeds(json!({"model": "flux-pro-1.1", "prompt": "a lantern on a jetty"}), ESTIMATE).await;
    let id = done["id"].as_str().unwrap().to_string();

    let report = api_get(&rig.app.url, "/api/v1/admin/reconciliation", Some(&rig.token)).await;
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{report}");
    let flux = &models[0];
    assert_eq!(flux["model"], "flux-pro-1.1");
    assert_eq!(flux["provider_kind"], "bfl", "from the snapshot the generation keeps");
    assert!(flux["label"].as_str().is_some_and(|l| !l.is_empty()), "{flux}");
    assert_eq!((flux["generations"].as_u64(), flux["reported"].as_u64(), flux["with_cost"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!(flux["estimate_credits"], ESTIMATE);
    assert_eq!(flux["reported_cents"], REPORTED);
    assert_eq!(flux["drift_percent"], -20.0, "4 credits estimated against 5 cents billed");
    assert_eq!(flux["drift_notable"], true);
    assert_eq!(flux["units"]["megapixels"], 1.03);

    let csv = get(&rig, "/api/v1/admin/reconciliation.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one row per model: {csv}");
    assert!(lines[1].starts_with("flux-pro-1.1,") && lines[1].contains(",4,4,5,-20,1.03 megapixels"), "{csv}");

    let rows = get(&rig, "/api/v1/admin/reconciliation.csv?per=generation&days=7").await.text().await.unwrap();
    assert!(
        rows.lines().nth(1).is_some_and(|row| row.starts_with(&format!("{id},flux-pro-1.1,")) && row.ends_with(",4,5,1.03,megapixels")),
        "{rows}"
    );

    let page = rig.admin.get("/admin/reconciliation").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.count("tr.drift-notable[data-model='flux-pro-1.1']"), 1, "{}", page.body);
    assert_eq!(page.text_of("tr[data-model='flux-pro-1.1'] td.drift strong"), "-20 %");
    let download = page.attr_of("#reconciliation-csv", "href").expect("a CSV link");
    let from_page = rig.admin.get(&download).await;
    assert_eq!(from_page.status, 200);
    assert_eq!(from_page.body, csv, "the page's download is the API's CSV of the same period");
    rig.stop().await;
}

#[tokio::test]
async fn bad_periods_are_refused_and_members_are_not_admitted() {
    let rig = rig().await;
    for query in [
        "days=0",
        "days=367",
        "days=x",
        "from=yesterday",
        "from=2026-02-01&to=2026-01-01",
        "to=2026-01-01",
        "per=day",
        "from=2026-01-01&days=3",
    ] {
        let answer = api_get(&rig.app.url, &format!("/api/v1/admin/reconciliation.csv?{query}"), Some(&rig.token)).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
    }
    let empty = api_get(&rig.app.url, "/api/v1/admin/reconciliation?from=2026-01-01&to=2026-01-31", Some(&rig.token)).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.json()["models"], json!([]));
    for form in ["days=&from=&to=", "days=7&from=&to=", "days=&from=2026-01-01&to="] {
        assert_eq!(rig.admin.get(&format!("/admin/reconciliation?{form}")).await.status, 200, "the page's form as sent: {form}");
    }
    assert_eq!(rig.admin.get("/admin/reconciliation?days=-1").await.status, 400);

    let doc = api_get(&rig.app.url, "/api/v1/openapi.json", None).await.json();
    let params = &doc["paths"]["/api/v1/admin/reconciliation.csv"]["get"]["parameters"];
    let days = params.as_array().unwrap().iter().find(|p| p["name"] == "days").expect("days is documented");
    assert_eq!((days["schema"]["minimum"].as_i64(), days["schema"]["maximum"].as_i64()), (Some(1), Some(366)), "{days}");

    let member = rig.app.invite_member(&rig.admin, "member@example.com", "a long member password").await;
    for path in ["/admin/reconciliation", "/admin/reconciliation.csv", "/api/v1/admin/reconciliation", "/api/v1/admin/reconciliation.csv"] {
        assert_eq!(member.get(path).await.status, 403, "{path}");
    }
    rig.stop().await;
}
