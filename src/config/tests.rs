//! Tests of the configuration layers, validation and redaction.

use super::*;

fn load(file: Option<&str>, env: &[(&str, &str)], overrides: Overrides) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = overrides;
    if let Some(text) = file {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        overrides.config = Some(path);
    }
    Config::load_from(&overrides, env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn oidc_tables_are_read_from_the_file_and_unknown_keys_named() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("corp.secret");
    std::fs::write(&secret, "from-file\n").unwrap();
    let file = format!(
        "[[oidc]]\nname = \"corp\"\nissuer = \"https://id.example.com\"\nclient_id = \"rv\"\nclient_secret_file = {:?}\n\
         allowed_domains = [\"Example.com\"]\n[auth]\nsso_only = true\npassword_admins = [\"root@example.com\"]\n",
        secret.display().to_string()
    );
    let c = load(Some(&file), &[], Overrides::default()).unwrap();
    assert_eq!(c.oidc[0].client_secret.expose(), "from-file");
    assert!(c.oidc[0].domain_allowed("jo@example.com"));
    assert!(c.auth.sso_only && c.auth.password_allowed("root@example.com"));
    assert!(!c.redacted_toml().contains("from-file"), "the secret is redacted");
    let e = load(
        Some("[[oidc]]\nname = \"corp\"\nissuer = \"https://x.example\"\nclient_id = \"rv\"\nclient_secret = \"s\"\nscope = []\n"),
        &[],
        Overrides::default(),
    )
    .unwrap_err();
    assert!(e.0.contains("scope"), "{e}");
}

#[test]
fn defaults_work_with_no_file() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.data_dir, PathBuf::from("./reelvault-data"));
    assert_eq!(c.master_key_file, PathBuf::from("./reelvault-data.key"));
    assert_eq!(c.retention.outputs, Duration::from_secs(180 * 86400));
    assert_eq!(c.limits.upload_max, 20 * 1024 * 1024);
    assert_eq!(c.connection[0].kind, "demo");
}

#[test]
fn layers_apply_in_order_defaults_file_env_flags() {
    let file = "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/from-file\"\n[retention]\noutputs = \"90d\"\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    assert_eq!(c.listen.port(), 9000);
    let env = [("REELVAULT_LISTEN", "127.0.0.1:9100"), ("REELVAULT_RETENTION__OUTPUTS", "10d")];
    let c = load(Some(file), &env, Overrides::default()).unwrap();
    assert_eq!(c.listen.port(), 9100);
    assert_eq!(c.retention.outputs, Duration::from_secs(10 * 86400));
    assert_eq!(c.data_dir, PathBuf::from("/tmp/from-file"));
    let flags = Overrides { listen: Some("127.0.0.1:9200".into()), ..Overrides::default() };
    let c = load(Some(file), &env, flags).unwrap();
    assert_eq!(c.listen.port(), 9200);
}

#[test]
fn unknown_keys_are_named() {
    let err = load(Some("lisen = \"x\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("lisen"), "{err}");
    let err = load(Some("[retention]\noutput = \"1d\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("output"), "{err}");
    let err = load(None, &[("REELVAULT_NOPE", "1")], Overrides::default()).unwrap_err();
    assert!(err.0.contains("nope"), "{err}");
}

#[test]
fn bad_values_get_messages_naming_the_key() {
    let err = load(Some("[retention]\noutputs = \"soon\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("retention.outputs"), "{err}");
    let err = load(Some("listen = \"nowhere\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("listen"), "{err}");
    let err = load(Some("[[connection]]\nname = \"x\"\nkind = \"nope\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("kind \"nope\""), "{err}");
}

#[test]
fn secrets_come_from_files_and_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("kling.secret");
    std::fs::write(&key, "s3cr3t-value\n").unwrap();
    let file =
        format!("[[connection]]\nname = \"kling-main\"\nkind = \"kling\"\naccess_key = \"ak\"\nsecret_key_file = \"{}\"\n", key.display());
    let c = load(Some(&file), &[], Overrides::default()).unwrap();
    assert_eq!(c.connection[0].secret_key.as_ref().unwrap().expose(), "s3cr3t-value");
    let shown = c.redacted_toml();
    assert!(!shown.contains("s3cr3t-value"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(!format!("{c:?}").contains("s3cr3t-value"));
}

#[test]
fn connection_overrides_parse() {
    let file = "[[connection]]\nname = \"o\"\nkind = \"openai-videos\"\ndeadline = \"20m\"\nmax_output_bytes = \"200MiB\"\n";
    let c = load(Some(file), &[], Overrides::default()).expect("valid overrides");
    assert_eq!(c.connection[0].kind, "openai_videos", "the hyphenated spelling is accepted");
    assert_eq!(c.connection[0].deadline, Some(Duration::from_secs(1200)));
    assert_eq!(c.connection[0].max_output_bytes, Some(200 * 1024 * 1024));
    let err = load(Some(&file.replace("200MiB", "huge")), &[], Overrides::default()).expect_err("not a size");
    assert!(err.0.contains("max_output_bytes"), "{err}");
}

#[test]
fn zero_retention_means_forever() {
    let c = load(Some("[retention]\nuploads = \"0\"\n"), &[], Overrides::default()).unwrap();
    assert!(c.retention.uploads.is_zero());
    assert!(c.redacted_toml().contains("uploads = \"0\""));
}

#[test]
fn data_use_entries_are_checked() {
    let file = "[[data_use]]\nkind = \"gemini\"\ntrains_on_inputs = \"no\"\ntraining_note = \"billed project\"\n";
    let c = load(Some(file), &[], Overrides::default()).expect("a valid entry");
    assert_eq!(c.data_use[0].trains_on_inputs, Some(crate::domain::catalog::data_use::TrainingUse::No));
    assert!(c.redacted_toml().contains("billed project"), "`check` shows it");
    let bad = [
        ("[[data_use]]\nkind = \"telepathy\"\n", "kind is unknown"),
        ("[[data_use]]\nkind = \"gemini\"\n[[data_use]]\nkind = \"gemini\"\n", "two [[data_use]] entries"),
        ("[[data_use]]\nkind = \"gemini\"\nterms_url = \"ftp://x\"\n", "terms_url"),
        ("[[data_use]]\nkind = \"gemini\"\ntrains_on_inputs = \"maybe\"\n", "maybe"),
        ("[[data_use]]\nkind = \"gemini\"\ntraining = \"no\"\n", "training"),
    ];
    for (file, message) in bad {
        let err = load(Some(file), &[], Overrides::default()).expect_err(file);
        assert!(err.0.contains(message), "{file}: {err}");
    }
}

#[test]
fn retention_schedule_is_a_validated_cron_expression() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.schedule.retention, DEFAULT_RETENTION_SCHEDULE);
    assert!(c.schedule.retention_schedule().is_some());
    let c = load(Some("[schedule]\nretention = \"0 0 */6 * * *\"\n"), &[], Overrides::default()).unwrap();
    assert_eq!(c.schedule.retention, "0 0 */6 * * *");
    let e = load(Some("[schedule]\nretention = \"every night\"\n"), &[], Overrides::default()).unwrap_err().0;
    assert!(e.contains("schedule.retention") && e.contains("seconds first"), "{e}");
    let e = load(None, &[("REELVAULT_SCHEDULE__RETENTION", "0 0 3 * *")], Overrides::default()).unwrap_err().0;
    assert!(e.contains("schedule.retention"), "{e}");
    let e = load(Some("[schedule]\nretention = \"0 0 0 1 1 * 2001\"\n"), &[], Overrides::default()).unwrap_err().0;
    assert!(e.contains("never fires"), "{e}");
    let e = load(Some("[schedule]\nbackups = \"0 0 0 * * *\"\n"), &[], Overrides::default()).unwrap_err().0;
    assert!(e.contains("backups"), "{e}");
}

#[test]
fn api_limits_and_webhooks_have_defaults_env_and_validation() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!((c.api.requests_per_minute, c.api.concurrent_jobs), (120, 8));
    assert!(!c.webhooks.allow_private_network);
    assert_eq!(c.webhooks.retry_base, Duration::from_secs(10));
    assert_eq!(c.webhooks.max_attempts, 8);
    let env = [("REELVAULT_API__REQUESTS_PER_MINUTE", "30"), ("REELVAULT_WEBHOOKS__ALLOW_PRIVATE_NETWORK", "true")];
    let c = load(Some("[api]\nconcurrent_jobs = 2\n"), &env, Overrides::default()).unwrap();
    assert_eq!((c.api.requests_per_minute, c.api.concurrent_jobs), (30, 2));
    assert!(c.webhooks.allow_private_network);
    let err = load(Some("[api]\nrequests_per_minute = 0\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("api.requests_per_minute"), "{err}");
    let err = load(Some("[api]\nrequests_per_hour = 5\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("requests_per_hour"), "{err}");
    let err = load(Some("[webhooks]\nmax_attempts = 0\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("webhooks.max_attempts"), "{err}");
    let err = load(Some("[webhooks]\nretry_base = \"soon\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.0.contains("webhooks.retry_base"), "{err}");
}

#[test]
fn metrics_allow_lists_addresses_and_is_empty_by_default() {
    assert!(load(None, &[], Overrides::default()).unwrap().metrics.allow.is_empty());
    let c = load(Some("[metrics]\nallow = [\"127.0.0.1\", \"::1\"]\n"), &[], Overrides::default()).unwrap();
    assert_eq!(c.metrics.allow, vec!["127.0.0.1".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]);
    let c = load(None, &[("REELVAULT_METRICS__ALLOW", "[\"10.0.0.5\"]")], Overrides::default()).unwrap();
    assert_eq!(c.metrics.allow, vec!["10.0.0.5".parse::<IpAddr>().unwrap()]);
    let e = load(Some("[metrics]\nallow = [\"localhost\"]\n"), &[], Overrides::default()).unwrap_err();
    assert!(e.0.contains("metrics.allow") && e.0.contains("localhost"), "{e}");
}

#[test]
fn connection_limits_have_defaults_and_refuse_zero() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.limits.request_body_timeout, Duration::from_secs(30));
    assert_eq!(c.limits.event_streams_per_person, 16);
    let c = load(Some("[limits]\nrequest_body_timeout = \"2m\"\nevent_streams_per_person = 4\n"), &[], Overrides::default()).unwrap();
    assert_eq!((c.limits.request_body_timeout, c.limits.event_streams_per_person), (Duration::from_secs(120), 4));
    for zero in ["request_body_timeout = \"0\"", "event_streams_per_person = 0"] {
        let err = load(Some(&format!("[limits]\n{zero}\n")), &[], Overrides::default()).unwrap_err();
        assert!(err.0.contains("limits.request_body_timeout"), "{err}");
    }
}

#[test]
fn a_base_url_is_http_or_https_without_a_query_or_fragment() {
    let file = |url: &str| format!("[[connection]]\nname = \"x\"\nkind = \"runway\"\nbase_url = \"{url}\"\n");
    for good in ["https://api.dev.runwayml.com", "https://api.dev.runwayml.com/v1/", "http://127.0.0.1:8188/gateway/runway"] {
        load(Some(&file(good)), &[], Overrides::default()).expect(good);
    }
    let bad = [
        ("ftp://example.com", "http or https"),
        ("not a url", "is not a URL"),
        ("https://gateway.example/v1?key=1", "query"),
        ("https://gateway.example/v1#top", "fragment"),
    ];
    for (url, message) in bad {
        let err = load(Some(&file(url)), &[], Overrides::default()).expect_err(url).0;
        assert!(err.contains("connection \"x\": base_url") && err.contains(message), "{url}: {err}");
    }
}

#[test]
fn media_is_local_by_default_and_s3_is_validated_with_its_secret_redacted() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.media, MediaBackendConfig::Local);
    assert!(c.redacted_toml().contains("backend = \"local\""), "{}", c.redacted_toml());

    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s3.secret");
    std::fs::write(&secret, "from-file\n").unwrap();
    let file = format!(
        "[media]\nbackend = \"s3\"\nendpoint = \"http://127.0.0.1:3900\"\nregion = \"garage\"\nbucket = \"reelvault\"\n\
         prefix = \"media/\"\naccess_key_id = \"GK1\"\nsecret_access_key_file = {:?}\nallow_private_network = true\n",
        secret.display().to_string()
    );
    let c = load(Some(&file), &[], Overrides::default()).unwrap();
    let MediaBackendConfig::S3(s3) = &c.media else { panic!("s3 expected") };
    assert_eq!((s3.bucket.as_str(), s3.prefix.as_str(), s3.secret_access_key.expose()), ("reelvault", "media/", "from-file"));
    assert!(s3.path_style && s3.allow_private_network && s3.cache == DEFAULT_MEDIA_CACHE);
    let shown = c.redacted_toml();
    assert!(shown.contains("backend = \"s3\"") && !shown.contains("from-file"), "{shown}");

    for (bad, says) in [
        ("[media]\nbackend = \"ftp\"\n", "media.backend"),
        ("[media]\nbackend = \"s3\"\nbucket = \"b\"\n", "media.endpoint"),
        (
            "[media]\nbackend = \"s3\"\nendpoint = \"ftp://x\"\nbucket = \"bkt\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"\n",
            "http or https",
        ),
        (
            "[media]\nbackend = \"s3\"\nendpoint = \"http://x\"\nbucket = \"Bad_Bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"\n",
            "media.bucket",
        ),
        (
            "[media]\nbackend = \"s3\"\nendpoint = \"http://x\"\nbucket = \"bkt\"\nprefix = \"no-slash\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"\n",
            "media.prefix",
        ),
        ("[media]\nbackend = \"s3\"\nendpoint = \"http://x\"\nbucket = \"bkt\"\naccess_key_id = \"a\"\n", "secret_access_key"),
        ("[media]\nendpoint = \"http://x\"\n", "need backend"),
        ("[media]\nbakend = \"s3\"\n", "bakend"),
    ] {
        let e = load(Some(bad), &[], Overrides::default()).unwrap_err();
        assert!(e.0.contains(says), "{bad}: {e}");
    }
}
