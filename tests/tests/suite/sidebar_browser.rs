//! The sidebar page in a real browser (headless Chromium over WebDriver) against the real stack
//! and the stand-in Clockify: what an owner and a member see and may do, the token leaving the
//! address bar, the themes, and a layout that fits 360 px. Each test saves a screenshot under
//! `target/screenshots/`. The token's expiry and renewal are in `sidebar_token_life`.

use std::time::Duration;

use common::events::EventType;
use integration_tests::browser::Browser;
use integration_tests::{Installation, TestApp, TestEnv};
use simulator::signer::SidebarViewer;
use simulator::standin::{StandIn, WorkspaceSpec};

use super::bootstrap::{BOOTSTRAP, standin};

pub(super) const WAIT: Duration = Duration::from_secs(30);

/// A workspace installed against the stand-in, subscribed to two webhooks, bootstrapped.
async fn bootstrapped(workspace_id: &str) -> (TestApp, StandIn, Installation) {
    let app = TestApp::spawn_with(TestEnv::new(), true, &BOOTSTRAP).await;
    let clockify = standin(&app, vec![WorkspaceSpec::sized(workspace_id, 120)]).await;
    let addon_id = format!("addon-{}", uuid::Uuid::new_v4().simple());
    let events = [EventType::NewProject, EventType::NewClient];
    let ws = app
        .install_full(workspace_id, &addon_id, &events, &clockify.api_url())
        .await;
    let status = app
        .wait_for_bootstrap(workspace_id, Duration::from_secs(60))
        .await;
    assert_eq!(status, "completed");
    (app, clockify, ws)
}

/// The page's URL for a viewer with `role`, `theme` and `language`, as Clockify's sidebar iframe
/// opens it.
fn sidebar_url(
    app: &TestApp,
    ws: &Installation,
    role: &str,
    theme: &str,
    language: &str,
) -> (String, String) {
    let viewer = SidebarViewer {
        user_id: &format!("user-{role}"),
        role,
        theme,
        language,
        valid_for_secs: 30 * 60,
    };
    let token = app.env.signer.sidebar_token(
        &ws.workspace_id,
        &ws.addon_id,
        &viewer,
        "http://127.0.0.1:1/api",
    );
    (format!("{}?auth_token={token}", app.url("/ui")), token)
}

pub(super) async fn assert_token_gone_and_console_clean(browser: &Browser, token: &str) {
    let href = browser.eval("return location.href").await;
    let href = href.as_str().expect("a string");
    assert!(
        !href.contains("auth_token") && !href.contains(token),
        "token still in {href}"
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
}

pub(super) fn text_of(selector: &str) -> String {
    format!("return (document.querySelector({selector:?}) || {{}}).textContent || ''")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_calls_list_projects_and_follows_history_data_events_and_a_bootstrap() {
    let (app, clockify, ws) = bootstrapped("ws-ui-owner").await;
    let (url, token) = sidebar_url(&app, &ws, "OWNER", "DEFAULT", "EN");
    let browser = Browser::start(1280, 900).await;
    browser.client.goto(&url).await.expect("page opens");

    // Explorer: find listProjects by search, fill a parameter, send.
    let listed = "return !!document.querySelector('[data-operation=listProjects]')";
    browser.wait_until("the catalog", listed, WAIT).await;
    browser.type_into("#op-search", "listProjects").await;
    browser.click("[data-operation=listProjects]").await;
    browser.type_into("#param-query-page-size", "5").await;
    browser.click("#send").await;
    let answered = "return /succeeded/.test(document.getElementById('result-status').textContent)";
    browser.wait_until("a succeeded call", answered, WAIT).await;
    let names: Vec<String> = sqlx::query_scalar(
        "select name from entities where workspace_id = $1 and kind = 'project' and name is not null",
    )
    .bind(&ws.workspace_id)
    .fetch_all(&app.db)
    .await
    .expect("project names");
    let tree = browser.eval(&text_of("#result-tree")).await;
    let tree = tree.as_str().unwrap_or_default();
    assert!(
        names.iter().any(|name| tree.contains(name.as_str())),
        "no stand-in project in the answer: {tree}"
    );

    browser
        .eval("document.getElementById('result').scrollIntoView(); return true")
        .await;
    browser.screenshot("sidebar-owner-answer").await;

    // History lists the call.
    browser.click("#tab-history").await;
    let in_history =
        "return /listProjects/.test(document.querySelector('#history-table tbody').textContent)";
    browser
        .wait_until("the call in History", in_history, WAIT)
        .await;
    // A past call opens with its request and answer, and re-runs from the Explorer's form.
    browser.click("#history-table tbody button.link").await;
    let request = browser.eval(&text_of("#history-request")).await;
    let request = request.as_str().unwrap_or_default();
    assert!(
        request.contains("GET /v1/workspaces/ws-ui-owner/projects")
            && request.contains("page-size"),
        "{request}"
    );
    browser.click("#history-rerun").await;
    let page_size = browser
        .eval("return document.getElementById('param-query-page-size').value")
        .await;
    assert_eq!(page_size, "5", "the past call's parameters fill the form");

    // Data shows the counts the bootstrap stored, per kind.
    browser.click("#tab-data").await;
    browser
        .wait_until(
            "counts",
            "return document.querySelectorAll('#data-counts .chip').length > 0",
            WAIT,
        )
        .await;
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "select kind, count(*) from entities where workspace_id = $1 and not deleted group by kind",
    )
    .bind(&ws.workspace_id)
    .fetch_all(&app.db)
    .await
    .expect("counts");
    assert!(!stored.is_empty());
    for (kind, count) in stored {
        let shown = browser
            .eval(&text_of(&format!(
                "#data-counts [data-kind=\"{kind}\"] .count"
            )))
            .await;
        assert_eq!(shown.as_str(), Some(count.to_string().as_str()), "{kind}");
    }

    // One entity opens with its JSON.
    browser.click("#data-table tbody button.link").await;
    let opened = "return document.querySelectorAll('#data-tree .leaf').length > 1";
    browser.wait_until("an entity's JSON", opened, WAIT).await;
    browser.screenshot("sidebar-owner-data").await;

    // A webhook sent now appears in Events; the other subscription was never heard from.
    let body = simulator::event_bodies::body_for(
        EventType::NewProject,
        &ws.workspace_id,
        "p-from-webhook",
    );
    let response = app
        .post_webhook(
            EventType::NewProject,
            ws.token_for(EventType::NewProject),
            &body,
        )
        .await;
    assert_eq!(response.status(), 200);
    app.wait_for_count(
        "select count(*) from event_log where source = 'webhook'",
        1,
        WAIT,
    )
    .await;
    browser.click("#tab-events").await;
    let heard = "return !!document.querySelector('#events-table tr[data-type=NEW_PROJECT]')";
    browser
        .wait_until("the webhook in Events", heard, WAIT)
        .await;
    let never = browser.eval(&text_of("#events-never")).await;
    assert!(
        never.as_str().unwrap_or_default().contains("NEW_CLIENT"),
        "{never}"
    );

    // Bootstrap: start one and watch it reach completed.
    browser.click("#tab-bootstrap").await;
    let enabled = "return !document.getElementById('bootstrap-start').disabled";
    browser.wait_until("the start button", enabled, WAIT).await;
    browser.click("#bootstrap-start").await;
    app.wait_for_count("select count(*) from bootstrap_jobs", 2, WAIT)
        .await;
    let second: uuid::Uuid =
        sqlx::query_scalar("select id from bootstrap_jobs order by created_at desc limit 1")
            .fetch_one(&app.db)
            .await
            .expect("the second job");
    let completed = format!(
        "const state = document.getElementById('bootstrap-state'); \
         return state.dataset.job === '{second}' && state.dataset.status === 'completed' \
         && !document.getElementById('bootstrap-start').disabled"
    );
    browser
        .wait_until(
            "the bootstrap completed",
            &completed,
            Duration::from_secs(60),
        )
        .await;

    // Events also shows how each event type is kept fresh; an owner reconciles on demand.
    browser.click("#tab-events").await;
    let listed = "return document.querySelectorAll('#coverage-table tr[data-event]').length > 40";
    browser.wait_until("the coverage table", listed, WAIT).await;
    let state_of = |event: &str| {
        format!(
            "return (document.querySelector('#coverage-table tr[data-event={event}]') \
             || {{dataset: {{}}}}).dataset.state || ''"
        )
    };
    assert_eq!(browser.eval(&state_of("NEW_PROJECT")).await, "manifest");
    let by_reconciliation =
        "return !!document.querySelector('#coverage-table tr[data-state=reconciliation]')";
    assert_eq!(browser.eval(by_reconciliation).await, true);
    browser.click("#reconcile-start").await;
    let passed = "return /last pass/.test(document.getElementById('coverage-summary').textContent)";
    browser
        .wait_until("the reconciliation pass started", passed, WAIT)
        .await;
    browser.screenshot("sidebar-owner-coverage").await;

    let theme = browser
        .eval("return document.documentElement.classList.contains('dark')")
        .await;
    assert_eq!(theme, false, "the light theme for theme DEFAULT");
    assert_token_gone_and_console_clean(&browser, &token).await;
    browser.click("#tab-explorer").await;
    browser.screenshot("sidebar-owner").await;
    browser.stop().await;
    clockify.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_at_360_px_in_the_dark_theme_finds_write_operations_disabled() {
    let (app, clockify, ws) = bootstrapped("ws-ui-member").await;
    let (url, token) = sidebar_url(&app, &ws, "USER", "DARK", "DE");
    let browser = Browser::start(360, 800).await;
    browser.client.goto(&url).await.expect("page opens");

    let listed = "return !!document.querySelector('[data-operation=createProject]')";
    browser.wait_until("the catalog", listed, WAIT).await;
    browser.type_into("#op-search", "createProject").await;
    browser.click("[data-operation=createProject]").await;
    let send_disabled = browser
        .eval("return document.getElementById('send').disabled")
        .await;
    assert_eq!(
        send_disabled, true,
        "a member's Send is disabled for a write operation"
    );
    let reason = browser.eval(&text_of("#call-denied")).await;
    assert!(
        reason
            .as_str()
            .unwrap_or_default()
            .contains("owners and admins"),
        "{reason}"
    );
    // A read stays allowed.
    browser.type_into("#op-search", "listProjects").await;
    browser.click("[data-operation=listProjects]").await;
    assert_eq!(
        browser
            .eval("return document.getElementById('send').disabled")
            .await,
        false
    );

    let dark = "return document.documentElement.classList.contains('dark') \
                && getComputedStyle(document.body).backgroundColor === 'rgb(30, 34, 39)'";
    assert_eq!(
        browser.eval(dark).await,
        true,
        "the dark theme for theme DARK"
    );
    let width = browser.eval("return window.innerWidth").await;
    assert_eq!(width, 360, "the page is laid out 360 px wide");
    let fits =
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth";
    assert_eq!(
        browser.eval(fits).await,
        true,
        "horizontal scroll in Explorer at 360 px"
    );
    browser.screenshot("sidebar-member-360-explorer").await;

    for tab in ["history", "data", "events", "bootstrap"] {
        browser.click(&format!("#tab-{tab}")).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            browser.eval(fits).await,
            true,
            "horizontal scroll in {tab} at 360 px"
        );
    }
    let loaded = "return document.getElementById('bootstrap-state').dataset.status === 'completed'";
    browser.wait_until("the last bootstrap", loaded, WAIT).await;
    let start_disabled = browser
        .eval("return document.getElementById('bootstrap-start').disabled")
        .await;
    assert_eq!(start_disabled, true, "a member cannot start a bootstrap");
    let reconcile_disabled = browser
        .eval("return document.getElementById('reconcile-start').disabled")
        .await;
    assert_eq!(
        reconcile_disabled, true,
        "a member cannot start a reconciliation"
    );
    let denied = browser.eval(&text_of("#bootstrap-denied")).await;
    assert!(
        denied
            .as_str()
            .unwrap_or_default()
            .contains("owners and admins"),
        "{denied}"
    );

    // Disabled looks disabled: not the accent colour of an enabled primary button.
    let looks = "const b = document.getElementById('bootstrap-start'); \
                 return getComputedStyle(b).backgroundColor";
    assert_ne!(
        browser.eval(looks).await,
        "rgb(41, 182, 246)",
        "the member's disabled Start a bootstrap is drawn in the accent colour"
    );
    // Every column of the progress table is visible at 360 px, without scrolling it sideways.
    let table_fits = "const box = document.getElementById('bootstrap-table').parentElement; \
                      return box.scrollWidth <= box.clientWidth";
    assert_eq!(
        browser.eval(table_fits).await,
        true,
        "the bootstrap progress table is clipped at 360 px"
    );
    // Dates follow the viewer's language (DE): day.month.year.
    let german_date = "return document.documentElement.lang === 'de' && \
                       /\\d{1,2}\\.\\d{1,2}\\.\\d{4}/.test(document.getElementById('bootstrap-state').textContent)";
    assert_eq!(
        browser.eval(german_date).await,
        true,
        "dates in the viewer's language: {}",
        browser.eval(&text_of("#bootstrap-state")).await
    );
    assert_token_gone_and_console_clean(&browser, &token).await;
    browser.screenshot("sidebar-member-360-bootstrap").await;

    browser.stop().await;

    // The same member on a wide screen, dark theme: the explorer beside the catalog.
    let browser = Browser::start(1280, 900).await;
    browser.client.goto(&url).await.expect("page opens");
    browser.wait_until("the catalog", listed, WAIT).await;
    let side_by_side = "const grid = document.querySelector('.explorer'); \
                        return getComputedStyle(grid).gridTemplateColumns.split(' ').length === 2";
    assert_eq!(
        browser.eval(side_by_side).await,
        true,
        "the catalog beside the operation on a wide screen"
    );
    browser.screenshot("sidebar-member-wide-dark").await;
    browser.stop().await;
    clockify.stop().await;
    app.stop().await;
}
