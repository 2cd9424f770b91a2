//! Earlier layouts of asset records: `Asset@1` (no poster) and `Asset@2` (no sound flag).

use serde::{Deserialize, Serialize};

use crate::domain::asset::{Asset, AssetKind};
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::store::StoreError;
use crate::store::codec::{Stored, upgrade_from};

impl Stored for Asset {
    const TYPE_NAME: &'static str = "reelvault::Asset@3";
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        match name {
            "reelvault::Asset@1" => Some(upgrade_from::<AssetV1, Asset>(name, payload)),
            "reelvault::Asset@2" => Some(upgrade_from::<AssetV2, Asset>(name, payload)),
            _ => None,
        }
    }
}

/// `reelvault::Asset@1`: no poster.
#[derive(Serialize, Deserialize)]
pub(crate) struct AssetV1 {
    id: AssetId,
    owner: UserId,
    kind: AssetKind,
    content_type: String,
    bytes: u64,
    sha256: String,
    width: Option<u32>,
    height: Option<u32>,
    generation: Option<GenerationId>,
    created_at: Timestamp,
}

impl From<AssetV1> for Asset {
    fn from(v: AssetV1) -> Asset {
        AssetV2 {
            id: v.id,
            owner: v.owner,
            kind: v.kind,
            content_type: v.content_type,
            bytes: v.bytes,
            sha256: v.sha256,
            width: v.width,
            height: v.height,
            generation: v.generation,
            created_at: v.created_at,
            poster: None,
        }
        .into()
    }
}

/// `reelvault::Asset@2`: whether a file has sound was not recorded (read as without).
#[derive(Serialize, Deserialize)]
pub(crate) struct AssetV2 {
    id: AssetId,
    owner: UserId,
    kind: AssetKind,
    content_type: String,
    bytes: u64,
    sha256: String,
    width: Option<u32>,
    height: Option<u32>,
    generation: Option<GenerationId>,
    created_at: Timestamp,
    poster: Option<AssetId>,
}

impl From<AssetV2> for Asset {
    fn from(v: AssetV2) -> Asset {
        Asset {
            id: v.id,
            owner: v.owner,
            kind: v.kind,
            content_type: v.content_type,
            bytes: v.bytes,
            sha256: v.sha256,
            width: v.width,
            height: v.height,
            generation: v.generation,
            created_at: v.created_at,
            poster: v.poster,
            has_sound: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::written_as;
    use super::*;
    use crate::store::codec;

    #[test]
    fn assets_of_earlier_layouts_read_without_sound() {
        let first = AssetV1 {
            id: AssetId::generate(),
            owner: UserId::generate(),
            kind: AssetKind::Output,
            content_type: "image/png".into(),
            bytes: 10,
            sha256: "ab".into(),
            width: Some(1),
            height: Some(1),
            generation: None,
            created_at: Timestamp::now(),
        };
        let a: Asset = codec::decode(&written_as("reelvault::Asset@1", &first)).unwrap();
        assert_eq!((a.id, a.bytes, a.poster, a.has_sound), (first.id, 10, None, false));
        let poster = AssetId::generate();
        let second = AssetV2 {
            id: AssetId::generate(),
            owner: UserId::generate(),
            kind: AssetKind::Output,
            content_type: "video/mp4".into(),
            bytes: 99,
            sha256: "cd".into(),
            width: None,
            height: None,
            generation: Some(GenerationId::generate()),
            created_at: Timestamp::now(),
            poster: Some(poster),
        };
        let b: Asset = codec::decode(&written_as("reelvault::Asset@2", &second)).unwrap();
        assert_eq!((b.id, b.bytes, b.poster, b.has_sound), (second.id, 99, Some(poster), false));
        let mut b = b;
        b.has_sound = true;
        let again: Asset = codec::decode(&codec::encode(&b).unwrap()).unwrap();
        assert!(again.has_sound, "rewritten in the current layout, sound and all");
        assert!(codec::decode::<Asset>(&written_as("reelvault::Asset@9", &second)).is_err(), "an unknown layout is refused");
    }
}
