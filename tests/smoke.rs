mod common;
use common::*;

#[tokio::test]
async fn create_then_list_shows_the_token_without_its_secret() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "ci").await;
    let all = server.list_all(KEY, 50).await;
    assert_eq!(all.len(), 2, "bootstrap key plus the new token");
    assert_eq!(all[1]["id"], created["id"]);
    assert!(all[1].get("token").is_none());
    server.stop().await;
}
