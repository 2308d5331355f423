//! Gift-card code replacement through the agent's catalog (the code behind
//! `POST /v1/giftcards/replace-code`) against the POS stand-in with the real POS client: the
//! lane's own client lacks `EditGiftCard` and gets a clear 403, a trusted client replaces the
//! code, and an unknown card is a 404.

use std::time::Duration;

use hardware_sim::pos::{PosSim, Seed};
use lane_agent::agent::Catalog;
use lane_agent::api::types::{GiftCardCode, GiftCardReplaceCodeRequest, Pin};
use lane_agent::api::{ApiError, BackendError, Resource};
use lane_agent::mirror::{Mirror, MirrorOptions, mirror_path};
use pos_client::{CodeType, PosClient, PosConfig};
use secrecy::SecretString;

fn client(sim: &PosSim, id: &str, secret: &str) -> PosClient {
    PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: id.into(),
        client_secret: SecretString::from(secret.to_owned()),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap()
}

fn request(card_id: &str, code: &str) -> GiftCardReplaceCodeRequest {
    GiftCardReplaceCodeRequest {
        card_id: card_id.to_owned(),
        new_code: GiftCardCode::new(code),
        new_pin: Some(Pin::new("4321")),
    }
}

#[tokio::test]
async fn replace_code_against_the_stand_in() {
    let sim = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::open(MirrorOptions::new(mirror_path(
        &dir.path().join("agent.db"),
    )))
    .await
    .unwrap();
    let lane = client(&sim, "lane-agent", "lane-agent-sim-secret-0123456789");
    let admin = client(&sim, "admin", "admin-sim-secret-0123456789");

    // The seed's lane client has no EditGiftCard: a clear refusal, never a vague 5xx.
    let as_lane = Catalog::new(lane, mirror.clone(), "MAIN").with_code_replacement(true);
    let e = as_lane
        .replace_code(request("1006", "6006491000009999"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BackendError::Forbidden {
                code: "pos_not_authorized",
                ..
            }
        ),
        "{e:?}"
    );
    let answer = ApiError::from(e);
    assert_eq!(answer.status.as_u16(), 403);
    assert!(!answer.message.contains("6006491000009999"));

    // Not permitted by config: refused before anything is sent.
    let off = Catalog::new(admin.clone(), mirror.clone(), "MAIN");
    let e = off
        .replace_code(request("1006", "6006491000009999"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BackendError::Forbidden {
                code: "permission_denied",
                ..
            }
        ),
        "{e:?}"
    );

    let trusted = Catalog::new(admin.clone(), mirror, "MAIN").with_code_replacement(true);
    let e = trusted
        .replace_code(request("999999", "6006491000009999"))
        .await
        .unwrap_err();
    assert_eq!(e, BackendError::NotFound(Resource::GiftCard));

    let done = trusted
        .replace_code(request("1006", "6006491000009999"))
        .await
        .unwrap();
    assert_eq!(done.card_id, "1006");
    assert_eq!(done.code.as_str(), "****9999");
    let found = admin
        .giftcard_by_code("6006491000009999", Some(CodeType::Physical))
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id).as_deref(), Some("1006"));
}
