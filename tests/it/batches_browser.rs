//! Batches in a real browser (Debian's chromium): a CSV is uploaded on the batches page, the dry
//! run shows each row's price or reason and the total, Start runs the rows (the progress
//! updates by itself) and the board holds the results; axe-core finds no serious or critical
//! violation on the pages, and the batch page fits a 390 px phone.

use std::time::Duration;

use crate::studio_pages::{axe_script, violations};
use crate::support::app_with_credits;
use crate::support::webdriver::{self, Browser as Chromium};

#[tokio::test]
async fn a_csv_is_uploaded_priced_started_and_its_results_land_on_the_board_in_the_browser() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping: chromium and chromium-driver are not installed");
        return;
    }
    let Some(axe) = axe_script() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install axe-core (.ci/run does)");
        eprintln!("skipping: axe-core is not in target/axe-core (see .ci/run)");
        return;
    };
    let (app, _admin, _token) = app_with_credits(Duration::from_millis(200), 100).await;
    let base = app.url.clone();
    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&base).await, "signed in");
    let mut problems = Vec::new();

    b.go(&format!("{base}/batches")).await;
    assert!(b.wait_for("return !!document.getElementById('batch-form')", 10).await);
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("batches: {v}")));
    let csv = "model,prompt,param.count\\ndemo-image,a red kite,2\\ndemo-image,a blue kite,1\\nno-such-model,a lost kite,1\\n";
    b.js(&format!(
        "document.getElementById('batch-name').value = 'Kites'; \
         var t = new DataTransfer(); t.items.add(new File(['{csv}'], 'kites.csv', {{type: 'text/csv'}})); \
         document.getElementById('batch-manifest').files = t.files;"
    ))
    .await;
    b.click("#batch-upload").await;
    assert!(
        b.wait_for("return location.pathname.startsWith('/batches/') && !!document.getElementById('batch-rows')", 10).await,
        "the dry run"
    );
    let dry = b
        .js("return [document.querySelectorAll('#batch-rows tr[data-state=pending]').length, \
                     document.querySelector('#batch-rows tr[data-state=invalid]').textContent, \
                     document.getElementById('batch-total').textContent];")
        .await;
    assert_eq!(dry[0], 2, "{dry}");
    assert!(dry[1].as_str().unwrap().contains("no-such-model"), "{dry}");
    assert!(dry[2].as_str().unwrap().contains('3'), "the total of the valid rows: {dry}");
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("batch (dry run): {v}")));

    // start one at a time; the rows succeed on the page without a reload
    b.js("document.getElementById('batch-parallel').value = '1';").await;
    b.click("#batch-start-button").await;
    assert!(
        b.wait_for("return document.querySelectorAll('#batch-rows tr[data-state=succeeded]').length === 2 && document.getElementById('batch-progress').dataset.state === 'finished'", 60).await,
        "the rows succeed and the batch finishes"
    );
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("batch (finished): {v}")));
    b.set_window(390, 844).await;
    let wide = b.js("return document.documentElement.scrollWidth;").await;
    assert!(wide.as_u64().unwrap() <= 390, "the batch page fits a phone: {wide}");
    b.set_window(1280, 900).await;

    // the board holds the results
    b.click("#batch-board-link").await;
    assert!(
        b.wait_for("return location.pathname.startsWith('/boards/') && document.querySelectorAll('#cards li.tile').length === 2", 10).await,
        "the board"
    );
    b.go(&format!("{base}/batches")).await;
    assert!(b.wait_for("return document.querySelectorAll('#batches li[data-batch]').length === 1", 10).await, "listed");
    b.quit().await;
    assert!(problems.is_empty(), "serious or critical axe-core violations:\n{}", problems.join("\n"));
    app.stop().await;
}
