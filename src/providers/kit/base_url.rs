//! Base URLs: where each provider keeps its API version, and a configured base URL normalised
//! to that convention.
//!
//! An adapter declares its convention in one line, as the provider's official SDK has it:
//!
//! ```text
//! const BASE: BaseUrl = BaseUrl::in_base("https://api.openai.com/v1");            // {base}/images/generations
//! const BASE: BaseUrl = BaseUrl::in_paths("https://api.minimax.io", &["v1", "v2"]); // {base}/v2/video_generation
//! const BASE: BaseUrl = BaseUrl::unversioned("https://queue.fal.run");             // {base}/fal-ai/flux/dev
//! ```
//!
//! Whatever form an admin pastes (bare host, host and version, with or without a trailing
//! slash, behind a gateway prefix), [`BaseUrl::resolve`] gives the one base every path joins
//! under: never `/v1/v1`, never a missing version.

/// Where a provider's API version segment lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// No version segment (fal's queue host, ComfyUI): the base is used as given.
    None,
    /// In the base URL: the path of the default (`v1`, `v1beta`, `api/v3`,
    /// `dream-machine/v1`). Added to a configured base that names no version.
    InBase,
    /// At the start of each of the adapter's paths (`v1/…`, `v2/…`): one of these segments at
    /// the end of a configured base is dropped.
    InPaths(&'static [&'static str]),
}

/// A provider kind's base-URL convention: its default, where the version lives, and the
/// regions whose keys work only on their own hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseUrl {
    /// The default base URL, as the provider's SDK or docs give it.
    pub default: &'static str,
    pub version: Version,
    /// The documented regional hosts a connection picks with `region` (none: the kind takes no
    /// region). The first is the default's region.
    pub regions: &'static [Region],
}

/// One region of a provider: its name in `region = "…"`, other names people use for it, and
/// its base URL (in the same convention as the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub url: &'static str,
}

impl BaseUrl {
    /// The version is the path of `default` and belongs in the base (OpenAI's `/v1`).
    pub const fn in_base(default: &'static str) -> BaseUrl {
        BaseUrl { default, version: Version::InBase, regions: &[] }
    }

    /// Each path starts with one of `versions` (Runway's `v1/…`, MiniMax's `v1/…` and `v2/…`).
    pub const fn in_paths(default: &'static str, versions: &'static [&'static str]) -> BaseUrl {
        BaseUrl { default, version: Version::InPaths(versions), regions: &[] }
    }

    /// The API has no version segment (fal, ComfyUI).
    pub const fn unversioned(default: &'static str) -> BaseUrl {
        BaseUrl { default, version: Version::None, regions: &[] }
    }

    /// The same convention with regional hosts (`region = "eu"` picks one).
    pub const fn with_regions(self, regions: &'static [Region]) -> BaseUrl {
        BaseUrl { regions, ..self }
    }

    /// The region named `name` (or one of its aliases, in any case).
    pub fn region(&self, name: &str) -> Result<&'static Region, String> {
        let name = name.trim().to_ascii_lowercase();
        if self.regions.is_empty() {
            return Err("this kind of connection takes no region: its keys work on one host (set base_url to change it)".into());
        }
        self.regions.iter().find(|r| r.name == name || r.aliases.contains(&name.as_str())).ok_or_else(|| {
            let names: Vec<&str> = self.regions.iter().map(|r| r.name).collect();
            format!("the region {name:?} is unknown; choose one of {}", names.join(", "))
        })
    }

    /// The base of a connection: its `base_url` when set (it always wins), else the URL of its
    /// `region`, else the default; an unknown region is refused even beside a `base_url`.
    pub fn resolve_for(&self, configured: Option<&url::Url>, region: Option<&str>) -> Result<url::Url, String> {
        let regional = region.map(|name| self.region(name)).transpose()?;
        Ok(match (configured, regional) {
            (Some(url), _) => self.resolve(Some(url)),
            (None, Some(r)) => self.resolve(Some(&url::Url::parse(r.url).expect("a regional base URL parses"))),
            (None, None) => self.resolve(None),
        })
    }

    /// The base every path joins under, ending in `/`: `configured` (else the default) with
    /// trailing slashes trimmed, any gateway prefix kept, and the version segment added
    /// (in base) or dropped (in paths) as the convention says.
    pub fn resolve(&self, configured: Option<&url::Url>) -> url::Url {
        let mut base = configured.cloned().unwrap_or_else(|| self.default_url());
        let default = self.default_url();
        let path = base.path().to_string();
        let mut given: Vec<&str> = segments(&path).collect();
        match self.version {
            Version::None => {}
            Version::InPaths(versions) => {
                if given.last().is_some_and(|last| versions.contains(last)) {
                    given.pop();
                }
            }
            Version::InBase if !given.iter().any(|s| names_a_version(s)) => {
                let version: Vec<&str> = segments(default.path()).collect();
                let present = (0..=version.len()).rev().find(|&n| given.ends_with(&version[..n])).unwrap_or(0);
                given.extend_from_slice(&version[present..]);
            }
            Version::InBase => {}
        }
        let path: String = given.iter().map(|s| format!("{s}/")).collect();
        base.set_path(&format!("/{path}"));
        base
    }

    /// The default as a URL.
    pub fn default_url(&self) -> url::Url {
        url::Url::parse(self.default).expect("a default base URL parses")
    }

    /// Where the version segment lives, in words for README's table: "in the base (`v1`)",
    /// "in each path (`v1`, `v2`)" or "none".
    pub fn describe(&self) -> String {
        let quoted = |versions: &[&str]| versions.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        match self.version {
            Version::None => "none".into(),
            Version::InBase => format!("in the base ({})", quoted(&[self.default_url().path().trim_matches('/')])),
            Version::InPaths(versions) => format!("in each path ({})", quoted(versions)),
        }
    }
}

impl From<&'static str> for BaseUrl {
    /// A default alone: its path, if any, is the version and belongs in the base.
    fn from(default: &'static str) -> BaseUrl {
        BaseUrl::in_base(default)
    }
}

/// The non-empty segments of a URL path.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Whether a path segment is an API version: `v` and a digit, then letters or digits
/// (`v1`, `v2beta`, `v1alpha1`).
fn names_a_version(segment: &str) -> bool {
    let mut chars = segment.chars();
    chars.next() == Some('v') && chars.next().is_some_and(|c| c.is_ascii_digit()) && chars.all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_picks_its_documented_host_and_base_url_still_wins() {
        const REGIONAL: BaseUrl = BaseUrl::in_paths("https://api.example.ai", &["v1"]).with_regions(&[
            Region { name: "global", aliases: &[], url: "https://api.example.ai" },
            Region { name: "eu", aliases: &["europe"], url: "https://api.eu.example.ai/v1" },
        ]);
        let at = |base: Option<&str>, region: Option<&str>| {
            let base = base.map(|b| url::Url::parse(b).unwrap());
            REGIONAL.resolve_for(base.as_ref(), region).map(|u| u.to_string())
        };
        assert_eq!(at(None, None).unwrap(), "https://api.example.ai/");
        assert_eq!(at(None, Some("eu")).unwrap(), "https://api.eu.example.ai/", "the version is dropped from the regional URL");
        assert_eq!(at(None, Some(" Europe ")).unwrap(), "https://api.eu.example.ai/");
        assert_eq!(at(Some("http://127.0.0.1:9/"), Some("eu")).unwrap(), "http://127.0.0.1:9/");
        let unknown = at(Some("http://127.0.0.1:9/"), Some("mars")).unwrap_err();
        assert!(unknown.contains("global, eu"), "{unknown}");
        assert!(BaseUrl::in_base("https://api.openai.com/v1").resolve_for(None, Some("eu")).unwrap_err().contains("no region"));
    }

    /// `configured` (or the default, for `""`) resolved by `convention`, joined with `path`.
    fn url(convention: BaseUrl, configured: &str, path: &str) -> String {
        let configured = (!configured.is_empty()).then(|| url::Url::parse(configured).expect("a URL"));
        convention.resolve(configured.as_ref()).join(path).expect("joins").to_string()
    }

    #[test]
    fn every_form_of_a_base_reaches_the_same_url() {
        const OPENAI: BaseUrl = BaseUrl::in_base("https://api.openai.com/v1");
        const GEMINI: BaseUrl = BaseUrl::in_base("https://generativelanguage.googleapis.com/v1beta");
        const LUMA: BaseUrl = BaseUrl::in_base("https://api.lumalabs.ai/dream-machine/v1");
        const ARK: BaseUrl = BaseUrl::in_base("https://ark.ap-southeast.bytepluses.com/api/v3");
        const RUNWAY: BaseUrl = BaseUrl::in_paths("https://api.dev.runwayml.com", &["v1"]);
        const MINIMAX: BaseUrl = BaseUrl::in_paths("https://api.minimax.io", &["v1", "v2"]);
        const STABILITY: BaseUrl = BaseUrl::in_paths("https://api.stability.ai", &["v1", "v2beta"]);
        const FAL: BaseUrl = BaseUrl::unversioned("https://queue.fal.run");
        const COMFY: BaseUrl = BaseUrl::unversioned("http://127.0.0.1:8188");
        let table: &[(BaseUrl, &str, &str, &str)] = &[
            // convention, configured base ("" for none), path, full URL
            (OPENAI, "", "images/generations", "https://api.openai.com/v1/images/generations"),
            (OPENAI, "https://api.openai.com", "images/generations", "https://api.openai.com/v1/images/generations"),
            (OPENAI, "https://api.openai.com/", "images/generations", "https://api.openai.com/v1/images/generations"),
            (OPENAI, "https://api.openai.com/v1", "images/generations", "https://api.openai.com/v1/images/generations"),
            (OPENAI, "https://api.openai.com/v1//", "images/generations", "https://api.openai.com/v1/images/generations"),
            (OPENAI, "https://gw.example/openai", "videos", "https://gw.example/openai/v1/videos"),
            (OPENAI, "https://gw.example/openai/v1/", "videos", "https://gw.example/openai/v1/videos"),
            (OPENAI, "https://res.openai.azure.com/openai/v1", "videos", "https://res.openai.azure.com/openai/v1/videos"),
            // a base that already names a version is used as given
            (OPENAI, "https://gemini.example/v1beta/openai/", "images/edits", "https://gemini.example/v1beta/openai/images/edits"),
            (GEMINI, "", "models", "https://generativelanguage.googleapis.com/v1beta/models"),
            (GEMINI, "https://generativelanguage.googleapis.com", "models", "https://generativelanguage.googleapis.com/v1beta/models"),
            (
                GEMINI,
                "https://generativelanguage.googleapis.com/v1beta/",
                "models",
                "https://generativelanguage.googleapis.com/v1beta/models",
            ),
            (GEMINI, "https://generativelanguage.googleapis.com/v1", "models", "https://generativelanguage.googleapis.com/v1/models"),
            (GEMINI, "http://127.0.0.1:9/gemini/", "models", "http://127.0.0.1:9/gemini/v1beta/models"),
            // several segments: the missing ones are added, none twice
            (LUMA, "https://api.lumalabs.ai", "credits", "https://api.lumalabs.ai/dream-machine/v1/credits"),
            (LUMA, "https://api.lumalabs.ai/dream-machine", "credits", "https://api.lumalabs.ai/dream-machine/v1/credits"),
            (LUMA, "https://api.lumalabs.ai/dream-machine/v1/", "credits", "https://api.lumalabs.ai/dream-machine/v1/credits"),
            (LUMA, "https://gw.example/luma", "credits", "https://gw.example/luma/dream-machine/v1/credits"),
            (ARK, "https://ark.example", "contents/generations/tasks", "https://ark.example/api/v3/contents/generations/tasks"),
            (ARK, "https://ark.example/api", "contents/generations/tasks", "https://ark.example/api/v3/contents/generations/tasks"),
            (ARK, "https://ark.example/api/v3/", "contents/generations/tasks", "https://ark.example/api/v3/contents/generations/tasks"),
            (RUNWAY, "", "v1/tasks/t1", "https://api.dev.runwayml.com/v1/tasks/t1"),
            (RUNWAY, "https://api.dev.runwayml.com", "v1/tasks/t1", "https://api.dev.runwayml.com/v1/tasks/t1"),
            (RUNWAY, "https://api.dev.runwayml.com/v1", "v1/tasks/t1", "https://api.dev.runwayml.com/v1/tasks/t1"),
            (RUNWAY, "https://api.dev.runwayml.com/v1/", "v1/tasks/t1", "https://api.dev.runwayml.com/v1/tasks/t1"),
            (RUNWAY, "https://gateway.example/runway", "v1/tasks/t1", "https://gateway.example/runway/v1/tasks/t1"),
            (RUNWAY, "https://gateway.example/runway/v1/", "v1/tasks/t1", "https://gateway.example/runway/v1/tasks/t1"),
            // paths with another version than the base's
            (MINIMAX, "https://api.minimax.io/v1", "v2/video_generation", "https://api.minimax.io/v2/video_generation"),
            (MINIMAX, "https://api.minimaxi.com/v2/", "v1/files/retrieve", "https://api.minimaxi.com/v1/files/retrieve"),
            (MINIMAX, "https://gw.example/mm/v1", "v2/video_generation", "https://gw.example/mm/v2/video_generation"),
            (STABILITY, "https://api.stability.ai/v2beta", "v1/user/balance", "https://api.stability.ai/v1/user/balance"),
            (FAL, "", "fal-ai/flux/dev", "https://queue.fal.run/fal-ai/flux/dev"),
            (FAL, "https://queue.fal.run/", "fal-ai/flux/dev", "https://queue.fal.run/fal-ai/flux/dev"),
            (FAL, "https://gw.example/fal//", "fal-ai/flux/dev", "https://gw.example/fal/fal-ai/flux/dev"),
            (COMFY, "", "prompt", "http://127.0.0.1:8188/prompt"),
            (COMFY, "http://127.0.0.1:8188/api/", "prompt", "http://127.0.0.1:8188/api/prompt"),
        ];
        for (convention, configured, path, expected) in table {
            assert_eq!(url(*convention, configured, path), *expected, "{configured:?} + {path:?}");
        }
    }

    #[test]
    fn a_default_alone_keeps_its_path_in_the_base() {
        assert_eq!(BaseUrl::from("https://api.x.ai/v1"), BaseUrl::in_base("https://api.x.ai/v1"));
        assert_eq!(url("https://openrouter.ai/api/v1".into(), "https://openrouter.ai", "videos"), "https://openrouter.ai/api/v1/videos");
    }

    #[test]
    fn versions_are_told_from_other_segments() {
        for version in ["v1", "v2", "v1beta", "v2beta", "v1alpha1", "v10"] {
            assert!(names_a_version(version), "{version}");
        }
        for other in ["", "v", "api", "video", "vb1", "runway", "v1-beta"] {
            assert!(!names_a_version(other), "{other}");
        }
    }
}
