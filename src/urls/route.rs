//! The table of page routes: each route's pattern, as registered and as filled in for links.

use std::fmt::Display;

/// A page route of the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The home page.
    Home,
    /// Sign in.
    Login,
    /// The privacy notice.
    Privacy,
    /// Sign out (POST).
    Logout,
    /// The first admin's setup link.
    Setup,
    /// An invitation link.
    Invite,
    /// A password-reset link.
    Reset,
    /// "Forgot password": asks for a reset link by e-mail.
    ForgotPassword,
    /// Starts a single sign-on with a provider.
    OidcStart,
    /// Where a provider sends the browser back (the redirect URI to register).
    OidcCallback,
    /// Single sign-on providers (admins).
    AdminSso,
    /// Where the credits went (everyone's for admins, one's own for members).
    Usage,
    /// The Usage page's rows as CSV.
    UsageCsv,
    /// The person's account page.
    Account,
    /// Where the profile form posts.
    AccountProfile,
    /// Where the password form posts.
    AccountPassword,
    /// Where a new profile picture is posted.
    AccountPicture,
    /// Removes the profile picture.
    AccountPictureDelete,
    /// The person's data-use preference.
    AccountDataUse,
    /// What the person is e-mailed about.
    AccountNotifications,
    /// The language of the person's pages.
    AccountLanguage,
    /// Erases all of the person's content.
    AccountEraseContent,
    /// Deletes the account.
    AccountDelete,
    /// The "Export my data" panel and its form.
    AccountExport,
    /// The person's signed-in sessions.
    Sessions,
    /// Signs out every session.
    SessionsRevokeAll,
    /// Signs out one session.
    SessionRevoke,
    /// The person's API tokens.
    Tokens,
    /// Revokes one token.
    TokenRevoke,
    /// The person's webhooks.
    Webhooks,
    /// One webhook's page: its delivery log.
    Webhook,
    /// Deletes one webhook.
    WebhookDelete,
    /// People, invitations and holds (admins).
    AdminUsers,
    /// Where an invitation is issued.
    AdminInvitations,
    /// Sets a person's role.
    AdminUserRole,
    /// Enables or disables a person.
    AdminUserStatus,
    /// Issues a password-reset link.
    AdminUserReset,
    /// Freezes or unfreezes a person.
    AdminUserFreeze,
    /// Puts a person on legal hold, or lifts it.
    AdminUserHold,
    /// Puts a generation named in the form on legal hold.
    AdminGenerationsHold,
    /// Puts one generation on legal hold, or lifts it.
    AdminGenerationHold,
    /// The instance's data-use setting.
    AdminDataUse,
    /// The audit log.
    AdminAudit,
    /// The audit log as CSV.
    AdminAuditCsv,
    /// Retention: plan and last runs.
    AdminRetention,
    /// Runs retention now.
    AdminRetentionRun,
    /// Background work: each worker, its state and its last error.
    AdminWorkers,
    /// How e-mail and chat notifications go out, and what waits (admins).
    AdminNotifications,
    /// Allowances, spend limits and approval rules (admins).
    AdminSpending,
    /// The approvals queue (approvers).
    Approvals,
    /// A shared page for people without an account (GET), and its password form (POST).
    Shared,
    /// A person's share links (GET), and where a new one is made (POST).
    ShareLinks,
    /// Revokes one share link (its maker or an admin).
    ShareLinkRevoke,
    /// Every share link and the instance switch (admins).
    AdminSharing,
    /// Where an approver's answer to one request posts.
    ApprovalAnswer,
    /// Estimates against what providers reported, per model.
    AdminReconciliation,
    /// The same as CSV (per model, or per generation).
    AdminReconciliationCsv,
    /// Provider connections.
    AdminConnections,
    /// Removes a connection.
    AdminConnectionDelete,
    /// Tests a connection's key.
    AdminConnectionTest,
    /// Asks the connections that list their models for them now (capability discovery).
    AdminConnectionsDiscover,
    /// Grants or removes credits.
    AdminUserCredits,
    /// Model policy and prices.
    AdminModels,
    /// Where one model's policy row is saved.
    AdminModel,
    /// Sets a per-person override of one model.
    AdminModelOverrides,
    /// Removes a per-person override.
    AdminModelOverrideDelete,
    /// One model's catalog entry: the edit form, and where it is saved.
    AdminModelCatalog,
    /// Reverts an admin's edit of a model.
    AdminModelCatalogRevert,
    /// Moves what names a retiring model to its successor.
    AdminModelRemap,
    /// Adds a model to the catalog.
    AdminCatalogAdd,
    /// The model catalog.
    Models,
    /// One model's page.
    Model,
    /// The New generation form.
    Generate,
    /// The form's price line (htmx).
    GeneratePrice,
    /// The same prompt to several models at once.
    GenerateCompare,
    /// The old list; leads to the library.
    Generations,
    /// The library: search, filters and bulk actions.
    Library,
    /// The library's bulk form.
    LibraryBulk,
    /// The person's boards, and where a new one is created.
    Boards,
    /// Adds the chosen generations to a chosen board (library selection, generation page).
    BoardsAdd,
    /// One board's page.
    Board,
    /// Saves a board's name, description and "kept" switch.
    BoardEdit,
    /// Deletes a board (not its generations).
    BoardDelete,
    /// Adds a member to a board.
    BoardMembers,
    /// Changes or ends one membership.
    BoardMember,
    /// One item of a board: its page, and where it is moved, annotated or removed.
    BoardItem,
    /// Saves a board's order (drag and drop).
    BoardOrder,
    /// A board's items as a ZIP.
    BoardZip,
    /// The person's presets and their boards': the list, and where a new one is saved.
    Presets,
    /// One preset: its edit form, and where the edit is saved.
    Preset,
    /// Deletes a preset.
    PresetDelete,
    /// Generates from a preset with its placeholders filled.
    PresetGenerate,
    /// Moves a preset on a retired model to the successor.
    PresetSuccessor,
    /// The person's batches: the list and the upload form, and where a manifest is sent.
    Batches,
    /// One batch: its dry run, then its progress.
    Batch,
    /// A batch's rows and state, for the page's polling.
    BatchProgress,
    /// Starts a batch.
    BatchStart,
    /// Stops a batch.
    BatchStop,
    /// Resumes a batch.
    BatchResume,
    /// Deletes a batch.
    BatchDelete,
    /// The person's cast and their boards': the list, and where a new member is created.
    Cast,
    /// One cast member: its edit form, and where the edit is saved.
    CastMember,
    /// Deletes a cast member.
    CastDelete,
    /// One generation's page.
    Generation,
    /// Cancels a generation.
    GenerationCancel,
    /// A generation's live status (server-sent events).
    GenerationEvents,
    /// Asks, then deletes a generation.
    GenerationDelete,
    /// Keeps or shares a generation, or undoes it.
    GenerationFlag,
}

impl Route {
    /// The pattern the route is registered with (`{id}` marks a path segment).
    pub const fn pattern(self) -> &'static str {
        match self {
            Route::Home => "/",
            Route::Login => "/login",
            Route::Privacy => "/privacy",
            Route::Logout => "/logout",
            Route::Setup => "/setup/{secret}",
            Route::Invite => "/invite/{secret}",
            Route::Reset => "/reset/{secret}",
            Route::ForgotPassword => "/forgot-password",
            Route::OidcStart => "/auth/oidc/{name}",
            Route::OidcCallback => "/auth/oidc/{name}/callback",
            Route::AdminSso => "/admin/sso",
            Route::Usage => "/usage",
            Route::UsageCsv => "/usage.csv",
            Route::Account => "/account",
            Route::AccountProfile => "/account/profile",
            Route::AccountPassword => "/account/password",
            Route::AccountPicture => "/account/picture",
            Route::AccountPictureDelete => "/account/picture/delete",
            Route::AccountDataUse => "/account/data-use",
            Route::AccountNotifications => "/account/notifications",
            Route::AccountLanguage => "/account/language",
            Route::AccountEraseContent => "/account/erase-content",
            Route::AccountDelete => "/account/delete",
            Route::AccountExport => "/account/export",
            Route::Sessions => "/account/sessions",
            Route::SessionsRevokeAll => "/account/sessions/revoke-all",
            Route::SessionRevoke => "/account/sessions/{id}/revoke",
            Route::Tokens => "/account/tokens",
            Route::TokenRevoke => "/account/tokens/{id}/revoke",
            Route::Webhooks => "/account/webhooks",
            Route::Webhook => "/account/webhooks/{id}",
            Route::WebhookDelete => "/account/webhooks/{id}/delete",
            Route::AdminUsers => "/admin/users",
            Route::AdminInvitations => "/admin/invitations",
            Route::AdminUserRole => "/admin/users/{id}/role",
            Route::AdminUserStatus => "/admin/users/{id}/status",
            Route::AdminUserReset => "/admin/users/{id}/reset",
            Route::AdminUserFreeze => "/admin/users/{id}/freeze",
            Route::AdminUserHold => "/admin/users/{id}/hold",
            Route::AdminGenerationsHold => "/admin/generations/hold",
            Route::AdminGenerationHold => "/admin/generations/{id}/hold",
            Route::AdminDataUse => "/admin/data-use",
            Route::AdminAudit => "/admin/audit",
            Route::AdminAuditCsv => "/admin/audit.csv",
            Route::AdminRetention => "/admin/retention",
            Route::AdminRetentionRun => "/admin/retention/run",
            Route::AdminWorkers => "/admin/workers",
            Route::AdminNotifications => "/admin/notifications",
            Route::AdminSpending => "/admin/spending",
            Route::Approvals => "/approvals",
            Route::Shared => "/s/{secret}",
            Route::ShareLinks => "/share-links",
            Route::ShareLinkRevoke => "/share-links/{id}/revoke",
            Route::AdminSharing => "/admin/sharing",
            Route::ApprovalAnswer => "/approvals/{id}/answer",
            Route::AdminReconciliation => "/admin/reconciliation",
            Route::AdminReconciliationCsv => "/admin/reconciliation.csv",
            Route::AdminConnections => "/admin/connections",
            Route::AdminConnectionDelete => "/admin/connections/{name}/delete",
            Route::AdminConnectionTest => "/admin/connections/{name}/test",
            Route::AdminConnectionsDiscover => "/admin/connections/discover",
            Route::AdminUserCredits => "/admin/users/{id}/credits",
            Route::AdminModels => "/admin/models",
            Route::AdminModel => "/admin/models/{id}",
            Route::AdminModelOverrides => "/admin/models/{id}/overrides",
            Route::AdminModelOverrideDelete => "/admin/models/{id}/overrides/{user}/delete",
            Route::AdminModelCatalog => "/admin/models/{id}/catalog",
            Route::AdminModelCatalogRevert => "/admin/models/{id}/catalog/revert",
            Route::AdminModelRemap => "/admin/models/{id}/remap",
            Route::AdminCatalogAdd => "/admin/catalog/add",
            Route::Models => "/models",
            Route::Model => "/models/{id}",
            Route::Generate => "/generate",
            Route::GeneratePrice => "/generate/price",
            Route::GenerateCompare => "/generate/compare",
            Route::Generations => "/generations",
            Route::Library => "/library",
            Route::LibraryBulk => "/library/bulk",
            Route::Boards => "/boards",
            Route::BoardsAdd => "/boards/add",
            Route::Board => "/boards/{id}",
            Route::BoardEdit => "/boards/{id}/edit",
            Route::BoardDelete => "/boards/{id}/delete",
            Route::BoardMembers => "/boards/{id}/members",
            Route::BoardMember => "/boards/{id}/members/{user}",
            Route::BoardItem => "/boards/{id}/items/{generation}",
            Route::BoardOrder => "/boards/{id}/order",
            Route::BoardZip => "/boards/{id}/zip",
            Route::Presets => "/presets",
            Route::Preset => "/presets/{id}",
            Route::PresetDelete => "/presets/{id}/delete",
            Route::PresetGenerate => "/presets/{id}/generate",
            Route::PresetSuccessor => "/presets/{id}/successor",
            Route::Batches => "/batches",
            Route::Batch => "/batches/{id}",
            Route::BatchProgress => "/batches/{id}/progress",
            Route::BatchStart => "/batches/{id}/start",
            Route::BatchStop => "/batches/{id}/stop",
            Route::BatchResume => "/batches/{id}/resume",
            Route::BatchDelete => "/batches/{id}/delete",
            Route::Cast => "/cast",
            Route::CastMember => "/cast/{id}",
            Route::CastDelete => "/cast/{id}/delete",
            Route::Generation => "/generations/{id}",
            Route::GenerationCancel => "/generations/{id}/cancel",
            Route::GenerationEvents => "/generations/{id}/events",
            Route::GenerationDelete => "/generations/{id}/delete",
            Route::GenerationFlag => "/generations/{id}/{action:keep|unkeep|share|unshare}",
        }
    }

    /// The path with each `{…}` segment replaced, in order, by `args`.
    pub fn with(self, args: &[&dyn Display]) -> String {
        let mut path = String::new();
        let mut args = args.iter();
        let mut rest = self.pattern();
        while let Some(open) = rest.find('{') {
            path.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            if let Some(arg) = args.next() {
                path.push_str(&arg.to_string());
            }
            rest = &rest[close..];
        }
        path.push_str(rest);
        path
    }
}
