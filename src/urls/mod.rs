//! Every URL the application makes, in one place: the [`Route`] table gives the patterns the
//! page routes are registered with, and [`Urls`] fills them in for handlers and templates, so
//! neither spells a path by hand.

use std::borrow::Borrow;

mod route;

pub use route::Route;

use crate::domain::ids::{BatchId, BoardId, CastId, GenerationId, PresetId, SessionId, TokenId, UserId, WebhookId};

/// Builds paths and absolute links for this instance.
#[derive(Debug, Clone)]
pub struct Urls {
    /// Scheme, host and port, without a trailing slash (`https://studio.example.com`).
    origin: String,
}

impl Urls {
    pub fn new(origin: &str) -> Self {
        Self { origin: origin.trim_end_matches('/').to_string() }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub fn home(&self) -> &'static str {
        Route::Home.pattern()
    }

    pub fn login(&self) -> &'static str {
        Route::Login.pattern()
    }

    pub fn logout(&self) -> &'static str {
        Route::Logout.pattern()
    }

    /// Where a single sign-on with provider `name` starts.
    pub fn oidc_start(&self, name: &str) -> String {
        Route::OidcStart.with(&[&name])
    }

    /// Where provider `name` sends the browser back.
    pub fn oidc_callback(&self, name: &str) -> String {
        Route::OidcCallback.with(&[&name])
    }

    pub fn admin_sso(&self) -> &'static str {
        Route::AdminSso.pattern()
    }

    pub fn privacy(&self) -> &'static str {
        Route::Privacy.pattern()
    }

    pub fn usage(&self) -> &'static str {
        Route::Usage.pattern()
    }

    pub fn usage_csv(&self) -> &'static str {
        Route::UsageCsv.pattern()
    }

    pub fn account(&self) -> &'static str {
        Route::Account.pattern()
    }

    pub fn account_profile(&self) -> &'static str {
        Route::AccountProfile.pattern()
    }

    pub fn account_picture(&self) -> &'static str {
        Route::AccountPicture.pattern()
    }

    pub fn account_picture_remove(&self) -> &'static str {
        Route::AccountPictureDelete.pattern()
    }

    pub fn account_data_use(&self) -> &'static str {
        Route::AccountDataUse.pattern()
    }

    pub fn account_notifications(&self) -> &'static str {
        Route::AccountNotifications.pattern()
    }

    pub fn account_language(&self) -> &'static str {
        Route::AccountLanguage.pattern()
    }

    pub fn account_erase_content(&self) -> &'static str {
        Route::AccountEraseContent.pattern()
    }

    pub fn account_delete(&self) -> &'static str {
        Route::AccountDelete.pattern()
    }

    pub fn admin_data_use(&self) -> &'static str {
        Route::AdminDataUse.pattern()
    }

    /// The "Export my data" panel and its form.
    pub fn account_export(&self) -> &'static str {
        Route::AccountExport.pattern()
    }

    pub fn account_password(&self) -> &'static str {
        Route::AccountPassword.pattern()
    }

    pub fn sessions(&self) -> &'static str {
        Route::Sessions.pattern()
    }

    pub fn sessions_revoke_all(&self) -> &'static str {
        Route::SessionsRevokeAll.pattern()
    }

    pub fn tokens(&self) -> &'static str {
        Route::Tokens.pattern()
    }

    pub fn webhooks(&self) -> &'static str {
        Route::Webhooks.pattern()
    }

    pub fn admin_users(&self) -> &'static str {
        Route::AdminUsers.pattern()
    }

    pub fn admin_invitations(&self) -> &'static str {
        Route::AdminInvitations.pattern()
    }

    /// The admins' form that puts a generation named by id on legal hold.
    pub fn admin_generations_hold(&self) -> &'static str {
        Route::AdminGenerationsHold.pattern()
    }

    pub fn admin_connections(&self) -> &'static str {
        Route::AdminConnections.pattern()
    }

    pub fn admin_connections_discover(&self) -> &'static str {
        Route::AdminConnectionsDiscover.pattern()
    }

    pub fn admin_audit(&self) -> &'static str {
        Route::AdminAudit.pattern()
    }

    pub fn admin_audit_csv(&self) -> &'static str {
        Route::AdminAuditCsv.pattern()
    }

    pub fn admin_retention(&self) -> &'static str {
        Route::AdminRetention.pattern()
    }

    pub fn admin_retention_run(&self) -> &'static str {
        Route::AdminRetentionRun.pattern()
    }

    pub fn admin_notifications(&self) -> &'static str {
        Route::AdminNotifications.pattern()
    }

    pub fn admin_spending(&self) -> &'static str {
        Route::AdminSpending.pattern()
    }

    pub fn approvals(&self) -> &'static str {
        Route::Approvals.pattern()
    }

    /// The shared page behind a share link's secret.
    pub fn shared(&self, secret: &str) -> String {
        Route::Shared.with(&[&secret])
    }

    pub fn share_links(&self) -> &'static str {
        Route::ShareLinks.pattern()
    }

    pub fn share_link_revoke(&self, id: impl std::fmt::Display) -> String {
        Route::ShareLinkRevoke.with(&[&id])
    }

    pub fn admin_sharing(&self) -> &'static str {
        Route::AdminSharing.pattern()
    }

    pub fn approval_answer(&self, id: impl std::fmt::Display) -> String {
        Route::ApprovalAnswer.with(&[&id])
    }

    pub fn admin_workers(&self) -> &'static str {
        Route::AdminWorkers.pattern()
    }

    pub fn admin_reconciliation(&self) -> &'static str {
        Route::AdminReconciliation.pattern()
    }

    pub fn admin_reconciliation_csv(&self) -> &'static str {
        Route::AdminReconciliationCsv.pattern()
    }
    pub fn admin_models(&self) -> &'static str {
        Route::AdminModels.pattern()
    }

    pub fn models(&self) -> &'static str {
        Route::Models.pattern()
    }

    pub fn generate(&self) -> &'static str {
        Route::Generate.pattern()
    }

    /// The New generation form's price line.
    pub fn generate_price(&self) -> &'static str {
        Route::GeneratePrice.pattern()
    }

    /// Where the New generation form sends one prompt to several models.
    pub fn generate_compare(&self) -> &'static str {
        Route::GenerateCompare.pattern()
    }

    pub fn library(&self) -> &'static str {
        Route::Library.pattern()
    }

    pub fn presets(&self) -> &'static str {
        Route::Presets.pattern()
    }

    pub fn preset(&self, id: impl Borrow<PresetId>) -> String {
        Route::Preset.with(&[id.borrow()])
    }

    pub fn preset_delete(&self, id: impl Borrow<PresetId>) -> String {
        Route::PresetDelete.with(&[id.borrow()])
    }

    pub fn preset_generate(&self, id: impl Borrow<PresetId>) -> String {
        Route::PresetGenerate.with(&[id.borrow()])
    }

    pub fn preset_successor(&self, id: impl Borrow<PresetId>) -> String {
        Route::PresetSuccessor.with(&[id.borrow()])
    }

    pub fn batches(&self) -> &'static str {
        Route::Batches.pattern()
    }

    pub fn batch(&self, id: impl Borrow<BatchId>) -> String {
        Route::Batch.with(&[id.borrow()])
    }

    pub fn batch_progress(&self, id: impl Borrow<BatchId>) -> String {
        Route::BatchProgress.with(&[id.borrow()])
    }

    pub fn batch_start(&self, id: impl Borrow<BatchId>) -> String {
        Route::BatchStart.with(&[id.borrow()])
    }

    pub fn batch_stop(&self, id: impl Borrow<BatchId>) -> String {
        Route::BatchStop.with(&[id.borrow()])
    }

    pub fn batch_resume(&self, id: impl Borrow<BatchId>) -> String {
        Route::BatchResume.with(&[id.borrow()])
    }

    pub fn batch_delete(&self, id: impl Borrow<BatchId>) -> String {
        Route::BatchDelete.with(&[id.borrow()])
    }

    pub fn cast(&self) -> &'static str {
        Route::Cast.pattern()
    }

    pub fn cast_member(&self, id: impl Borrow<CastId>) -> String {
        Route::CastMember.with(&[id.borrow()])
    }

    pub fn cast_delete(&self, id: impl Borrow<CastId>) -> String {
        Route::CastDelete.with(&[id.borrow()])
    }

    pub fn boards(&self) -> &'static str {
        Route::Boards.pattern()
    }

    pub fn boards_add(&self) -> &'static str {
        Route::BoardsAdd.pattern()
    }

    pub fn board(&self, id: impl Borrow<BoardId>) -> String {
        Route::Board.with(&[id.borrow()])
    }

    pub fn board_edit(&self, id: impl Borrow<BoardId>) -> String {
        Route::BoardEdit.with(&[id.borrow()])
    }

    pub fn board_delete(&self, id: impl Borrow<BoardId>) -> String {
        Route::BoardDelete.with(&[id.borrow()])
    }

    pub fn board_members(&self, id: impl Borrow<BoardId>) -> String {
        Route::BoardMembers.with(&[id.borrow()])
    }

    pub fn board_member(&self, id: impl Borrow<BoardId>, user: impl Borrow<UserId>) -> String {
        Route::BoardMember.with(&[id.borrow(), user.borrow()])
    }

    pub fn board_item(&self, id: impl Borrow<BoardId>, generation: impl Borrow<GenerationId>) -> String {
        Route::BoardItem.with(&[id.borrow(), generation.borrow()])
    }

    pub fn board_order(&self, id: impl Borrow<BoardId>) -> String {
        Route::BoardOrder.with(&[id.borrow()])
    }

    pub fn board_zip(&self, id: impl Borrow<BoardId>) -> String {
        Route::BoardZip.with(&[id.borrow()])
    }

    /// The bulk form of the library (keep, unkeep, delete or zip the selection).
    pub fn library_bulk(&self) -> &'static str {
        Route::LibraryBulk.pattern()
    }

    pub fn setup(&self, secret: &str) -> String {
        Route::Setup.with(&[&secret])
    }

    pub fn invite(&self, secret: &str) -> String {
        Route::Invite.with(&[&secret])
    }

    pub fn forgot_password(&self) -> &'static str {
        Route::ForgotPassword.pattern()
    }

    pub fn reset(&self, secret: &str) -> String {
        Route::Reset.with(&[&secret])
    }

    /// Signs out one session.
    pub fn session_revoke(&self, id: impl Borrow<SessionId>) -> String {
        Route::SessionRevoke.with(&[id.borrow()])
    }

    /// Revokes one token.
    pub fn token_revoke(&self, id: impl Borrow<TokenId>) -> String {
        Route::TokenRevoke.with(&[id.borrow()])
    }

    /// One webhook's page: its delivery log.
    pub fn webhook(&self, id: impl Borrow<WebhookId>) -> String {
        Route::Webhook.with(&[id.borrow()])
    }

    pub fn webhook_delete(&self, id: impl Borrow<WebhookId>) -> String {
        Route::WebhookDelete.with(&[id.borrow()])
    }

    pub fn admin_user_role(&self, id: impl Borrow<UserId>) -> String {
        Route::AdminUserRole.with(&[id.borrow()])
    }

    pub fn admin_user_status(&self, id: impl Borrow<UserId>) -> String {
        Route::AdminUserStatus.with(&[id.borrow()])
    }

    pub fn admin_user_reset(&self, id: impl Borrow<UserId>) -> String {
        Route::AdminUserReset.with(&[id.borrow()])
    }

    pub fn admin_user_freeze(&self, id: impl Borrow<UserId>) -> String {
        Route::AdminUserFreeze.with(&[id.borrow()])
    }

    pub fn admin_user_hold(&self, id: impl Borrow<UserId>) -> String {
        Route::AdminUserHold.with(&[id.borrow()])
    }

    pub fn admin_user_credits(&self, id: impl Borrow<UserId>) -> String {
        Route::AdminUserCredits.with(&[id.borrow()])
    }

    pub fn admin_generation_hold(&self, id: impl Borrow<GenerationId>) -> String {
        Route::AdminGenerationHold.with(&[id.borrow()])
    }

    pub fn admin_connection_delete(&self, name: &str) -> String {
        Route::AdminConnectionDelete.with(&[&name])
    }

    pub fn admin_connection_test(&self, name: &str) -> String {
        Route::AdminConnectionTest.with(&[&name])
    }

    /// Where one model's policy row is saved.
    pub fn admin_model(&self, id: &str) -> String {
        Route::AdminModel.with(&[&id])
    }

    /// One model's catalog edit form (and where it is saved).
    pub fn admin_model_catalog(&self, id: &str) -> String {
        Route::AdminModelCatalog.with(&[&id])
    }

    pub fn admin_model_catalog_revert(&self, id: &str) -> String {
        Route::AdminModelCatalogRevert.with(&[&id])
    }

    pub fn admin_model_remap(&self, id: &str) -> String {
        Route::AdminModelRemap.with(&[&id])
    }

    pub fn admin_catalog_add(&self) -> String {
        Route::AdminCatalogAdd.pattern().to_string()
    }

    pub fn admin_model_overrides(&self, id: &str) -> String {
        Route::AdminModelOverrides.with(&[&id])
    }

    pub fn model(&self, id: &str) -> String {
        Route::Model.with(&[&id])
    }

    /// One generation's page.
    pub fn generation(&self, id: impl Borrow<GenerationId>) -> String {
        Route::Generation.with(&[id.borrow()])
    }

    pub fn generation_cancel(&self, id: impl Borrow<GenerationId>) -> String {
        Route::GenerationCancel.with(&[id.borrow()])
    }

    pub fn generation_events(&self, id: impl Borrow<GenerationId>) -> String {
        Route::GenerationEvents.with(&[id.borrow()])
    }

    /// Asks before deleting (GET) and deletes (POST).
    pub fn generation_delete(&self, id: impl Borrow<GenerationId>) -> String {
        Route::GenerationDelete.with(&[id.borrow()])
    }

    pub fn admin_model_override_delete(&self, id: &str, user: impl Borrow<UserId>) -> String {
        Route::AdminModelOverrideDelete.with(&[&id, user.borrow()])
    }
    /// Keeps, stops keeping, shares or stops sharing a generation (`action` is one of
    /// `keep`, `unkeep`, `share`, `unshare`).
    pub fn generation_flag(&self, id: impl Borrow<GenerationId>, action: &str) -> String {
        Route::GenerationFlag.with(&[id.borrow(), &action])
    }
    /// The New generation form with `model` chosen.
    pub fn generate_with(&self, model: &str) -> String {
        format!("{}?model={model}", Route::Generate.pattern())
    }
    /// The New generation form prefilled from generation `id` (`new_seed`: a variation).
    pub fn generate_from(&self, id: impl Borrow<GenerationId>, new_seed: bool) -> String {
        let id = id.borrow();
        let seed = if new_seed { "&seed=" } else { "" };
        format!("{}?from={id}{seed}", Route::Generate.pattern())
    }
    /// The sign-in page, coming back to `next` (already percent-encoded) afterwards.
    pub fn login_then(&self, next_encoded: &str) -> String {
        format!("{}?next={next_encoded}", Route::Login.pattern())
    }
    /// The API's OpenAPI document.
    pub fn openapi_json(&self) -> &'static str {
        "/api/v1/openapi.json"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_filled_in_order() {
        let id = GenerationId::generate();
        assert_eq!(Urls::new("").generation(id), format!("/generations/{id}"));
        assert_eq!(Urls::new("").generation_flag(id, "keep"), format!("/generations/{id}/keep"));
        let user = UserId::generate();
        assert_eq!(Urls::new("").admin_model_override_delete("m", user), format!("/admin/models/m/overrides/{user}/delete"));
        assert_eq!(Urls::new("").account(), "/account");
    }
}
