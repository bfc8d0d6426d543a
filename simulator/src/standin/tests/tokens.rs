//! `X-Addon-Token` checks and signed webhook tokens.

use serde_json::{Value, json};

use super::{Api, small_workspace, start};
use crate::signer::ClockifySigner;
use crate::standin::{StandIn, StandInConfig};

async fn checking_standin(signer: &ClockifySigner) -> StandIn {
    let config = StandInConfig {
        workspaces: vec![small_workspace("w1"), small_workspace("w2")],
        ..StandInConfig::default()
    };
    start(config.with_signer(signer.clone())).await
}

#[tokio::test]
async fn a_token_for_another_workspace_is_forbidden_and_the_signers_installation_token_is_accepted()
{
    let signer = ClockifySigner::test_key("studio");
    let standin = checking_standin(&signer).await;
    let own = signer.installation_token("w1", "addon-1", &standin.api_url());
    let other = signer.installation_token("w2", "addon-2", &standin.api_url());
    let path = "/v1/workspaces/w1/users";

    let accepted = Api::new(&standin, &own).get(path).await.expect("an answer");
    let forbidden = Api::new(&standin, &other)
        .get(path)
        .await
        .expect("an answer");
    let garbage = Api::new(&standin, "not-a-jwt")
        .get(path)
        .await
        .expect("an answer");
    let missing = Api::new(&standin, "").get(path).await.expect("an answer");

    assert_eq!(accepted.status(), 200);
    assert_eq!(forbidden.status(), 403);
    assert_eq!(garbage.status(), 401);
    assert_eq!(missing.status(), 401);
    standin.stop().await;
}

#[tokio::test]
async fn without_a_public_key_any_non_empty_token_is_accepted() {
    let standin = start(StandInConfig {
        workspaces: vec![small_workspace("w1")],
        ..StandInConfig::default()
    })
    .await;

    let anything = Api::new(&standin, "x").get("/v1/workspaces/w1/tags").await;
    let missing = Api::new(&standin, "").get("/v1/workspaces/w1/tags").await;

    assert_eq!(anything.expect("an answer").status(), 200);
    assert_eq!(missing.expect("an answer").status(), 401);
    standin.stop().await;
}

#[tokio::test]
async fn a_created_webhook_carries_a_token_signed_for_the_callers_installation() {
    let signer = ClockifySigner::test_key("studio");
    let standin = checking_standin(&signer).await;
    let api = Api::new(
        &standin,
        &signer.installation_token("w1", "addon-1", &standin.api_url()),
    );
    let body = json!({
        "name": "projects", "url": "https://addon.example.com/webhooks/x",
        "webhookEvent": "NEW_PROJECT", "triggerSourceType": "WORKSPACE_ID", "triggerSource": ["w1"],
    });

    let created = api
        .send_json(reqwest::Method::POST, "/v1/workspaces/w1/webhooks", &body)
        .await
        .expect("an answer");
    assert_eq!(created.status(), 201);
    let webhook: Value = created.json().await.expect("a JSON body");
    let id = webhook["id"].as_str().expect("an id");
    let token = webhook["authToken"].as_str().expect("an authToken");
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(signer.public_key_pem().as_bytes())
        .expect("the signer's public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("a token verifying with the signer's key")
        .claims;
    let listed = api.get_json("/v1/workspaces/w1/webhooks").await;
    let deleted = api
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/workspaces/w1/webhooks/{id}"),
        )
        .send()
        .await
        .expect("an answer");
    let after = api.get_json("/v1/workspaces/w1/webhooks").await;

    assert_eq!(
        (claims["workspaceId"].as_str(), claims["addonId"].as_str()),
        (Some("w1"), Some("addon-1"))
    );
    assert_eq!(webhook["webhookEvent"], "NEW_PROJECT");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(deleted.status(), 200);
    assert_eq!(after, json!([]));
    standin.stop().await;
}

#[tokio::test]
async fn a_members_user_token_reads_but_cannot_touch_webhooks_or_write_and_an_expired_one_is_refused()
 {
    let signer = ClockifySigner::test_key("studio");
    let standin = checking_standin(&signer).await;
    let url = standin.api_url();
    let member = Api::new(
        &standin,
        &signer.user_token("w1", "addon-1", "u1", "USER", &url),
    );
    let admin = Api::new(
        &standin,
        &signer.user_token("w1", "addon-1", "u2", "ADMIN", &url),
    );
    let mut claims = signer.base_claims("w1", "addon-1");
    claims["workspaceRole"] = json!("OWNER");
    claims["exp"] = json!(1_000_000_000);
    let expired = Api::new(&standin, &signer.sign(&claims));
    let project = json!({"name": "by a member"});

    let member_reads = member
        .get("/v1/workspaces/w1/tags")
        .await
        .expect("an answer");
    let member_hooks = member
        .get("/v1/workspaces/w1/webhooks")
        .await
        .expect("an answer");
    let member_writes = member
        .send_json(
            reqwest::Method::POST,
            "/v1/workspaces/w1/projects",
            &project,
        )
        .await
        .expect("an answer");
    let admin_hooks = admin
        .get("/v1/workspaces/w1/webhooks")
        .await
        .expect("an answer");
    let expired_reads = expired
        .get("/v1/workspaces/w1/tags")
        .await
        .expect("an answer");

    assert_eq!(member_reads.status(), 200);
    assert_eq!(member_hooks.status(), 403);
    assert_eq!(member_writes.status(), 403);
    assert_eq!(admin_hooks.status(), 200);
    assert_eq!(expired_reads.status(), 401);
    let callers: Vec<_> = standin
        .recorder()
        .requests()
        .into_iter()
        .map(|r| r.caller)
        .collect();
    assert!(matches!(&callers[0], crate::standin::Caller::User { role, .. } if role == "USER"));
    standin.stop().await;
}
