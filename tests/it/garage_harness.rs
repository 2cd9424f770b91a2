//! The Garage test harness itself: a real node answers S3 with the key it was given, keeps its
//! objects across a stop and restart, and is unreachable while stopped.

use crate::support::garage::Garage;

#[tokio::test]
async fn garage_node_stores_lists_and_survives_a_restart() {
    let Some(mut garage) = Garage::start() else { return };
    let s3 = garage.s3().clone();
    s3.put("media/ab/one.age", b"age-encryption.org/v1 bytes".to_vec()).await;
    s3.put("other/two", b"x".to_vec()).await;
    assert_eq!(garage.keys("media/").await, vec!["media/ab/one.age".to_string()]);
    assert_eq!(garage.object("media/ab/one.age").await.as_deref(), Some(&b"age-encryption.org/v1 bytes"[..]));
    assert_eq!(garage.object("media/ab/missing.age").await, None);

    let upload = s3.start_multipart("media/cd/big.age").await;
    assert_eq!(garage.multipart_uploads("media/").await, vec![("media/cd/big.age".to_string(), upload)]);

    let dir = tempfile::tempdir().expect("temp dir");
    let toml = std::fs::read_to_string(garage.write_config(dir.path(), "media/", "")).expect("config written");
    assert!(toml.contains(&format!("endpoint = \"{}\"", garage.endpoint)) && toml.contains("backend = \"s3\""), "{toml}");

    garage.stop();
    assert!(s3.try_call("GET", "media/ab/one.age", &[], Vec::new()).await.is_err(), "a stopped node does not answer");
    garage.restart();
    assert_eq!(garage.object("media/ab/one.age").await.as_deref(), Some(&b"age-encryption.org/v1 bytes"[..]));
    s3.delete("media/ab/one.age").await;
    assert_eq!(garage.keys("media/").await, Vec::<String>::new());
}
