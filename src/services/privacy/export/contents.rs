//! What an export archive holds and how it is laid out: `profile.json`, `generations.json`,
//! `ledger.json`, `uploads.json`, `spending.json` (monthly allowance grants and the approval
//! requests of the person's jobs), `boards.json` (the boards they own or are a member of, with
//! their items' ids and notes), `share_links.json` (the links they made, without their secrets,
//! which are not kept), `presets.json` and `cast.json` (their own, with the files they use named
//! as in the archive), `batches.json` (their batches, each row with its request, price, state
//! and generation), and `media/<file>` with a `media/<file>.json` sidecar for every output,
//! reference upload and avatar, decrypted. Reads one consistent snapshot of the person's
//! records; writes nothing of anyone else's.

use crate::domain::preferences::Preferences;
use std::collections::HashSet;

use serde_json::json;

use crate::domain::approval::{AllowanceGrant, Approval};
use crate::domain::asset::{Asset, AssetKind};
use crate::domain::board::Owner;
use crate::domain::cast::CastMember;
use crate::domain::credits::{Balance, LedgerEntry};
use crate::domain::generation::Generation;
use crate::domain::ids::{AssetId, UserId};
use crate::domain::preset::Preset;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::archive::{ZipSink, file_record, generation_record};
use crate::services::{studio::media, studio::search};
use crate::store::{self, StoreError, Tx};

/// The layout version written into `profile.json`.
pub const FORMAT: &str = "reelvault-export-1";

/// A person's records, read in one transaction.
pub struct Contents {
    user: User,
    balance: Balance,
    /// Oldest first, each with its output files.
    generations: Vec<(Generation, Vec<Asset>)>,
    ledger: Vec<LedgerEntry>,
    uploads: Vec<Asset>,
    avatar: Option<Asset>,
    preferences: Preferences,
    notifications: crate::domain::notify::NotifySettings,
    /// The single sign-on identities (issuer, subject) linked to the account.
    identities: Vec<(String, String)>,
    /// Monthly allowances granted, oldest first.
    grants: Vec<AllowanceGrant>,
    /// The approval requests of the person's jobs, oldest first.
    approvals: Vec<Approval>,
    /// The boards the person is a member of, as `boards.json` records them.
    boards: Vec<serde_json::Value>,
    /// The share links the person made, newest first.
    share_links: Vec<crate::domain::share::ShareLink>,
    /// The person's own presets and cast members, oldest first.
    presets: Vec<Preset>,
    cast: Vec<CastMember>,
    /// The person's batches with their rows, as `batches.json` records them.
    batches: Vec<serde_json::Value>,
}

/// Reads everything of `owner`'s that an export holds; `None` when the account is gone.
/// Uploads have no owner index, so the asset table is scanned (an export is rare and runs
/// in the background).
pub fn gather(tx: &impl Tx, owner: UserId) -> Result<Option<Contents>, StoreError> {
    let Some(user) = store::users::get(tx, owner)? else { return Ok(None) };
    let mut generations = Vec::new();
    for g in store::generations::list_for_owner(tx, owner, None, usize::MAX)?.into_iter().rev() {
        let outputs = store::assets::get_many(tx, &g.outputs)?;
        generations.push((g, outputs));
    }
    let mut uploads = Vec::new();
    store::assets::each(tx, |a| {
        if a.owner == owner && a.kind == AssetKind::Upload {
            uploads.push(a);
        }
        Ok(())
    })?;
    let avatar = match user.avatar {
        Some(id) => store::assets::get(tx, id)?.filter(|a| a.owner == owner),
        None => None,
    };
    let ids: Vec<_> = generations.iter().map(|(g, _)| g.id).collect();
    let approvals = store::spending::approvals(tx, &ids)?.into_iter().flatten().collect();
    Ok(Some(Contents {
        boards: crate::services::studio::boards::export_records(tx, owner)?,
        presets: store::presets::list_for_owner(tx, Owner::Person(owner))?,
        cast: store::cast::list_for_owner(tx, Owner::Person(owner))?,
        grants: store::spending::grants_of(tx, owner)?,
        approvals,
        share_links: store::shares::made_by(tx, owner)?,
        batches: crate::services::studio::batches::export_records(tx, owner)?,
        preferences: store::preferences::get(tx, owner)?,
        notifications: store::notices::settings(tx, owner)?,
        identities: store::oidc::identities_of(tx, owner)?,
        balance: store::credits::balance(tx, owner)?,
        ledger: store::credits::entries_for_user(tx, owner)?,
        user,
        generations,
        uploads,
        avatar,
    }))
}

/// One media entry: where it goes in the archive, the file, and what it is.
struct MediaEntry<'a> {
    name: String,
    asset: &'a Asset,
    role: &'static str,
}

/// Entry names under `media/`, unique within the archive.
#[derive(Default)]
struct Names(HashSet<String>);

impl Names {
    fn name(&mut self, asset: &Asset, generation: Option<&Generation>) -> String {
        let mut name = format!("media/{}", media::file_name(asset, generation));
        if self.0.contains(&name) {
            name = format!("media/{}.{}", asset.id.to_string().to_lowercase(), asset.extension());
        }
        self.0.insert(name.clone());
        name
    }
}

/// Writes the archive of `c`, made at `now`.
pub fn write(zip: &mut ZipSink<'_>, c: &Contents, now: Timestamp) -> Result<(), String> {
    let mut names = Names::default();
    let mut entries: Vec<MediaEntry<'_>> = Vec::new();
    let mut generations = Vec::with_capacity(c.generations.len());
    let provider_of = search::provider_of(zip.state);
    for (g, outputs) in &c.generations {
        let mut files = Vec::with_capacity(outputs.len());
        for asset in outputs {
            let name = names.name(asset, Some(g));
            files.push(file_record(&name, asset));
            entries.push(MediaEntry { name, asset, role: "output" });
        }
        generations.push(generation_record(g, &provider_of(g), files));
    }
    let mut uploads = Vec::with_capacity(c.uploads.len() + 1);
    for (asset, role) in c.uploads.iter().map(|a| (a, "upload")).chain(c.avatar.iter().map(|a| (a, "avatar"))) {
        let name = names.name(asset, None);
        uploads.push(upload_record(&name, asset, role));
        entries.push(MediaEntry { name, asset, role });
    }
    let avatar = entries.iter().find(|e| e.role == "avatar").map(|e| e.name.clone());

    zip.json("profile.json", &profile(c, avatar, now))?;
    zip.json_array("generations.json", generations)?;
    zip.json_array("ledger.json", c.ledger.iter().map(ledger_record))?;
    zip.json_array("uploads.json", uploads)?;
    zip.json("spending.json", &spending_record(c))?;
    zip.json_array("boards.json", c.boards.iter())?;
    zip.json_array("share_links.json", c.share_links.iter().map(share_link_record))?;
    let archived = |id: &AssetId| entries.iter().find(|e| e.asset.id == *id).map(|e| e.name.clone());
    zip.json_array("presets.json", c.presets.iter().map(|p| preset_record(p, &archived)))?;
    zip.json_array("cast.json", c.cast.iter().map(|m| cast_record(m, &archived)))?;
    zip.json_array("batches.json", c.batches.iter())?;
    for entry in &entries {
        zip.asset(&entry.name, entry.asset)?;
        zip.json(&format!("{}.json", entry.name), &sidecar(entry))?;
    }
    Ok(())
}

/// A share link as the export lists it: what it shows and how, never its password's hash.
fn share_link_record(l: &crate::domain::share::ShareLink) -> serde_json::Value {
    let (kind, id) = match l.target {
        crate::domain::share::ShareTarget::Generation(id) => ("generation", id.to_string()),
        crate::domain::share::ShareTarget::Board(id) => ("board", id.to_string()),
    };
    json!({
        "id": l.id.to_string(),
        "target_kind": kind,
        "target_id": id,
        "created_at": l.created_at.rfc3339(),
        "expires_at": l.expires_at.rfc3339(),
        "revoked_at": l.revoked_at.map(|t| t.rfc3339()),
        "has_password": l.has_password(),
        "allow_download": l.allow_download,
        "show_prompt": l.show_prompt,
        "views": l.views,
    })
}

/// One preset as the export shows it; its uploads by their names in the archive.
fn preset_record(p: &Preset, archived: &impl Fn(&AssetId) -> Option<String>) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> = p.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    json!({
        "id": p.id.to_string(),
        "name": p.name,
        "model": p.model,
        "params": params,
        "prompt_template": p.prompt_template,
        "negative_prompt": p.negative_prompt,
        "references": p.references.iter().map(|r| json!({"role": r.role.as_str(), "file": archived(&r.upload)})).collect::<Vec<_>>(),
        "cast": p.cast.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "created_at": p.created_at.rfc3339(),
        "updated_at": p.updated_at.rfc3339(),
    })
}

/// One cast member as the export shows it; its images and voice by their names in the archive.
fn cast_record(m: &CastMember, archived: &impl Fn(&AssetId) -> Option<String>) -> serde_json::Value {
    json!({
        "id": m.id.to_string(),
        "name": m.name,
        "description": m.description,
        "images": m.images.iter().map(archived).collect::<Vec<_>>(),
        "voice": m.voice.as_ref().and_then(archived),
        "created_at": m.created_at.rfc3339(),
        "updated_at": m.updated_at.rfc3339(),
    })
}

/// The person's allowance grants and the approval requests of their jobs (approvers by
/// e-mail, as the requester saw them).
fn spending_record(c: &Contents) -> serde_json::Value {
    let grants: Vec<_> = c
        .grants
        .iter()
        .map(|g| json!({"month": format!("{}-{:02}", g.month / 100, g.month % 100), "at": g.at.rfc3339(), "monthly": g.monthly, "rollover_cap": g.rollover_cap, "granted": g.granted, "available_after": g.available_after}))
        .collect();
    let approvals: Vec<_> = c
        .approvals
        .iter()
        .map(|a| {
            let answer = a.answer.as_ref();
            json!({
                "generation": a.generation.to_string(),
                "asked_at": a.asked_at.rfc3339(),
                "expires_at": a.expires_at.rfc3339(),
                "threshold": a.threshold,
                "verdict": answer.map(|x| x.verdict.as_str()),
                "answered_at": answer.map(|x| x.at.rfc3339()),
                "answered_by": answer.and_then(|x| x.by_email.clone()),
                "note": answer.and_then(|x| x.note.clone()),
            })
        })
        .collect();
    json!({"allowance_grants": grants, "approvals": approvals})
}

/// The account as the person sees it (never the password hash).
fn profile(c: &Contents, avatar: Option<String>, now: Timestamp) -> serde_json::Value {
    let u = &c.user;
    json!({
        "format": FORMAT,
        "exported_at": now.rfc3339(),
        "reelvault_version": env!("CARGO_PKG_VERSION"),
        "id": u.id.to_string(),
        "email": u.email.as_str(),
        "name": u.name,
        "bio": u.bio,
        "role": u.role.as_str(),
        "created_at": u.created_at.rfc3339(),
        "password_changed_at": u.password_changed_at.rfc3339(),
        "disabled": u.disabled,
        "frozen": u.frozen,
        "forbid_training": u.forbid_training,
        "legal_hold": u.legal_hold,
        "avatar": avatar,
        "credits": { "available": c.balance.available, "held": c.balance.held },
        "preferences": { "language": c.preferences.language.map(|l| l.code()), "time_zone": c.preferences.time_zone },
        "notifications": { "long_job_minutes": c.notifications.long_job_minutes },
        "single_sign_on": c.identities.iter().map(|(issuer, subject)| json!({ "issuer": issuer, "subject": subject })).collect::<Vec<_>>(),
    })
}

/// One ledger entry; `amount` is its change to the total (available + held): a grant adds,
/// a settled job spends, a hold or a release only moves credits between the two sides.
fn ledger_record(e: &LedgerEntry) -> serde_json::Value {
    json!({
        "id": e.id.to_string(),
        "at": e.at.rfc3339(),
        "kind": e.kind.as_str(),
        "amount": e.available_delta + e.held_delta,
        "available_delta": e.available_delta,
        "held_delta": e.held_delta,
        "generation": e.generation.map(|g| g.to_string()),
        "note": e.note,
    })
}

fn upload_record(name: &str, asset: &Asset, role: &str) -> serde_json::Value {
    let mut record = file_record(name, asset);
    if let Some(fields) = record.as_object_mut() {
        fields.insert("role".into(), json!(role));
        fields.insert("width".into(), json!(asset.width));
        fields.insert("height".into(), json!(asset.height));
        fields.insert("created_at".into(), json!(asset.created_at.rfc3339()));
    }
    record
}

/// The sidecar of a media entry: what the file is and how to check it.
fn sidecar(entry: &MediaEntry<'_>) -> serde_json::Value {
    let a = entry.asset;
    json!({
        "id": a.id.to_string(),
        "role": entry.role,
        "content_type": a.content_type,
        "bytes": a.bytes,
        "sha256": a.sha256,
        "width": a.width,
        "height": a.height,
        "created_at": a.created_at.rfc3339(),
        "generation": a.generation.map(|g| g.to_string()),
    })
}
