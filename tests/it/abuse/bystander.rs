//! A bystander: another person on the same instance, whose sign-in, page and API call must
//! keep answering whatever an abuser does. [`Bystander::still_served`] checks all three,
//! each under a generous bound: a hang fails the test, a slow machine does not.

use std::time::Duration;

use crate::support::{Browser, TestApp, api_get};

/// Far above any healthy answer on a loaded CI machine; only a hang takes this long.
pub const PROMPTLY: Duration = Duration::from_secs(15);

pub const BYSTANDER_EMAIL: &str = "bystander@example.com";
pub const BYSTANDER_PASSWORD: &str = "bystander password 1";

/// The other person: invited by the admin, with a browser and an API token of their own.
pub struct Bystander {
    pub browser: Browser,
    pub token: String,
}

impl Bystander {
    /// Invites the bystander and creates their API token.
    pub async fn join(app: &TestApp, admin: &Browser) -> Bystander {
        let browser = app.invite_member(admin, BYSTANDER_EMAIL, BYSTANDER_PASSWORD).await;
        let created = browser.post_form("/account/tokens", &[("name", "bystander script"), ("expires", "30")]).await;
        assert_eq!(created.status, 200, "{}", created.body);
        let token = created.text_of("#new-token");
        Bystander { browser, token }
    }

    /// Signs in afresh (a new browser), opens a signed-in page and makes an API call; each
    /// must answer within [`PROMPTLY`]. `during` names the abuse in the failure message.
    pub async fn still_served(&self, app: &TestApp, during: &str) {
        let fresh = app.browser();
        let signed_in = within(during, "sign-in", fresh.sign_in(BYSTANDER_EMAIL, BYSTANDER_PASSWORD)).await;
        assert_eq!(signed_in.status, 303, "the bystander's sign-in during {during}: {}", signed_in.body);
        let page = within(during, "library page", self.browser.get("/library")).await;
        assert_eq!(page.status, 200, "the bystander's library page during {during}");
        let me = within(during, "API call", api_get(&app.url, "/api/v1/me", Some(&self.token))).await;
        assert_eq!(me.status, 200, "the bystander's API call during {during}: {}", me.body);
    }
}

/// Awaits `future`, failing the test when it takes longer than [`PROMPTLY`].
pub async fn within<T>(during: &str, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PROMPTLY, future).await {
        Ok(value) => value,
        Err(_) => panic!("the bystander's {what} did not answer within {PROMPTLY:?} during {during}"),
    }
}
