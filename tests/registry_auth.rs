//! Registry authentication against a real registry with htpasswd (basic) auth: credentials
//! given explicitly or through a docker config file, and the errors when they are missing or
//! wrong. Passwords must not appear in any error text.

mod support;

use std::io::Write;

use drctl::registry::cli::ImageCopyArgs;
use drctl::registry::{copy_image, CopyOptions, CopyRequest, Credentials, RegistryError};
use support::registry::*;
use tokio_util::sync::CancellationToken;

const USER: &str = "ns/drctl";
const PASSWORD: &str = "s3cret-token";
/// bcrypt of PASSWORD (cost 5), as htpasswd stores it.
const HTPASSWD: &str = "ns/drctl:$2b$05$abcdefghijklmnopqrstuurqlfNK1j3DPm23UErfIbGaYIPKJXOC2\n";

fn request(src: String, dst: String, src_creds: Option<Credentials>) -> CopyRequest {
    CopyRequest {
        source: src.parse().unwrap(),
        destination: dst.parse().unwrap(),
        source_credentials: src_creds,
        destination_credentials: None,
        options: CopyOptions { plain_http: true, ..CopyOptions::default() },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_source_with_and_without_credentials() {
    let (Some(r1), Some(r2)) = (start_registry_with_htpasswd(HTPASSWD), start_registry()) else {
        return;
    };
    let http = basic_auth_client(USER, PASSWORD);
    let img = push_image_as(&http, &r1.host(), "ns/app", "v1", &[64 << 10], 11, "amd64", false).await;
    let src = format!("{}/ns/app:v1", r1.host());
    let dst = format!("{}/ns/app:v1", r2.host());

    let creds = Credentials::new(USER, PASSWORD);
    let report = copy_image(request(src.clone(), dst.clone(), Some(creds)), CancellationToken::new()).await.unwrap();
    assert_eq!(report.destination_digest, img.digest);
    assert_eq!(report.blobs_copied, 2);

    let err = copy_image(request(src.clone(), dst.clone(), None), CancellationToken::new()).await.unwrap_err();
    let text = err.to_string();
    let expected =
        format!("{}: authentication failed: registry requires credentials and none were given for this host; give them (--src-creds", r1.host());
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.contains("`source_credentials` or `destination_credentials`"), "{text}");

    let wrong = Credentials::new(USER, "not-the-password");
    let err = copy_image(request(src, dst, Some(wrong)), CancellationToken::new()).await.unwrap_err();
    match &err {
        RegistryError::Auth { registry, reason } => {
            assert_eq!(registry, &r1.host());
            assert!(
                reason.contains(&format!("the credentials given for {} were refused (HTTP 401)", r1.host())),
                "{reason}"
            );
            assert!(reason.contains("--src-creds or --dest-creds"), "{reason}");
        }
        other => panic!("expected refused credentials, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_a_docker_config_file() {
    use base64::Engine as _;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ImageCopyArgs,
    }

    let (Some(r1), Some(r2)) = (start_registry_with_htpasswd(HTPASSWD), start_registry()) else {
        return;
    };
    let http = basic_auth_client(USER, PASSWORD);
    let img = push_image_as(&http, &r1.host(), "ns/app", "v2", &[1024], 12, "amd64", false).await;
    let dir = tempfile::tempdir().unwrap();
    let authfile = dir.path().join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let mut f = std::fs::File::create(&authfile).unwrap();
    write!(f, r#"{{"auths":{{"http://{}":{{"auth":"{auth}"}}}}}}"#, r1.host()).unwrap();

    let cli = Cli::parse_from([
        "image_copy".to_string(),
        "--plain-http".to_string(),
        "--authfile".to_string(),
        authfile.display().to_string(),
        format!("{}/ns/app:v2", r1.host()),
        format!("{}/ns/app:v2", r2.host()),
    ]);
    let req = cli.args.into_request().unwrap();
    assert_eq!(req.source_credentials, Some(Credentials::new(USER, PASSWORD)));
    let report = copy_image(req, CancellationToken::new()).await.unwrap();
    assert_eq!(report.destination_digest, img.digest);
}
