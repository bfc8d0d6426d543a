//! The sidebar's token life in a real browser: the expiry notice, and a token renewed through
//! Clockify's `refreshAddonToken` inside a host page that frames the add-on as Clockify does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use integration_tests::TestApp;
use integration_tests::TestEnv;
use integration_tests::browser::Browser;
use simulator::signer::SidebarViewer;

use super::sidebar_browser::{WAIT, assert_token_gone_and_console_clean, text_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_announced_with_how_to_get_a_fresh_one() {
    let app = TestApp::spawn().await;
    let ws = app.install("ws-ui-expiry", &[]).await;
    app.wait_for_count("select count(*) from installations", 1, WAIT)
        .await;
    let viewer = SidebarViewer {
        user_id: "user-OWNER",
        role: "OWNER",
        theme: "DEFAULT",
        language: "EN",
        valid_for_secs: 10,
    };
    let token = app.env.signer.sidebar_token(
        &ws.workspace_id,
        &ws.addon_id,
        &viewer,
        "http://127.0.0.1:1/api",
    );
    let browser = Browser::start(800, 600).await;
    browser
        .client
        .goto(&format!("{}?auth_token={token}", app.url("/ui")))
        .await
        .expect("page opens");
    let listed = "return !!document.querySelector('[data-operation=listProjects]')";
    browser.wait_until("the catalog", listed, WAIT).await;
    let banner = browser
        .eval("const b = document.getElementById('banner'); return b.hidden ? '' : b.textContent")
        .await;
    assert_eq!(banner, "", "no notice while the token is valid");

    let expired = "const banner = document.getElementById('banner'); \
                   return !banner.hidden && /expired/.test(banner.textContent) \
                   && /Reopen API Studio from the Clockify sidebar/.test(banner.textContent)";
    browser
        .wait_until("the expiry notice", expired, Duration::from_secs(25))
        .await;
    assert_token_gone_and_console_clean(&browser, &token).await;
    browser.screenshot("sidebar-expired").await;
    browser.stop().await;
    app.stop().await;
}

/// Serves the page `page` holds at the time of each request from a local HTTP server: the host
/// page that frames the sidebar as Clockify does. Returns its origin.
async fn serve_host_page(page: Arc<Mutex<String>>) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the host page's port");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request).await;
            let page = page.lock().await.clone();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_clockifys_frame_an_expired_token_is_renewed_through_refresh_addon_token() {
    // The host's origin must be known before ingress starts: only it may frame the page.
    let page_slot = Arc::new(Mutex::new(String::new()));
    let origin = serve_host_page(Arc::clone(&page_slot)).await;
    let app = TestApp::spawn_with(TestEnv::new(), true, &[("UI_FRAME_ANCESTORS", &origin)]).await;
    let ws = app.install("ws-ui-refresh", &[]).await;
    app.wait_for_count("select count(*) from installations", 1, WAIT)
        .await;
    let token_for = |valid_for_secs| {
        let viewer = SidebarViewer {
            user_id: "user-OWNER",
            role: "OWNER",
            theme: "DEFAULT",
            language: "EN",
            valid_for_secs,
        };
        app.env.signer.sidebar_token(
            &ws.workspace_id,
            &ws.addon_id,
            &viewer,
            "http://127.0.0.1:1/api",
        )
    };
    let (short, fresh) = (token_for(10), token_for(30 * 60));
    // Clockify's side: answers the add-on's `refreshAddonToken` with a fresh token, counting asks.
    *page_slot.lock().await = format!(
        "<!doctype html><html><head><title>Clockify</title></head><body>\
         <iframe id=\"addon\" width=\"800\" height=\"600\" src=\"{ui}?auth_token={short}\"></iframe>\
         <script>window.asks = 0; window.addEventListener('message', (event) => {{\
           if (event.data && event.data.action === 'refreshAddonToken') {{ window.asks += 1;\
             event.source.postMessage({{ title: 'refreshAddonToken', body: '{fresh}' }}, '*'); }} }});\
         </script></body></html>",
        ui = app.url("/ui"),
    );

    let browser = Browser::start(1000, 700).await;
    browser.client.goto(&origin).await.expect("host page opens");
    browser
        .client
        .enter_frame(0)
        .await
        .expect("into the add-on's frame");
    let listed = "return !!document.querySelector('[data-operation=listProjects]')";
    browser.wait_until("the catalog", listed, WAIT).await;
    // Past the short token's expiry: the page asked, adopted the fresh token, and works on.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let quiet = "const b = document.getElementById('banner'); return b.hidden";
    browser
        .wait_until("the expiry notice gone", quiet, WAIT)
        .await;
    browser.click("#tab-history").await;
    let history = "return document.querySelector('#history-table tbody').textContent \
                   .includes('No calls yet')";
    browser
        .wait_until("history read with the fresh token", history, WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        browser.eval(quiet).await,
        true,
        "a call after the renewal was refused: {}",
        browser.eval(&text_of("#banner")).await
    );
    let href = browser.eval("return location.href").await;
    assert!(!href.as_str().unwrap_or_default().contains("auth_token"));
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("back to the host");
    let asks = browser.eval("return window.asks").await;
    assert!(
        asks.as_u64().unwrap_or(0) >= 1,
        "the page never asked: {asks}"
    );
    browser.screenshot("sidebar-renewed").await;
    browser.stop().await;
    app.stop().await;
}
