//! The whole HTTP surface in one place: every route, its handler, and the layers around them.

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::body_deadline::{self, BodyDeadline};
use crate::error::ApiError;
use crate::lifecycle::handle_lifecycle;
use crate::load_shed::{self, ConcurrencyLimit};
use crate::route_table::{SIDEBAR_PATH, lifecycle_routes, webhook_routes};
use crate::state::AppState;
use crate::webhooks::handle_webhook;
use crate::{
    audit, bootstrap_api, coverage_api, data_api, dead_letters_api, manifest, ops, reconcile_api,
    replay_api, request_id, reseal, sidebar, studio_api,
};

/// The HTTP surface; a plain function so tests can drive it without a socket.
///
/// Layers, outermost first: request id and metrics (so a shed request is counted too), the
/// concurrency bound, the body deadline.
pub fn router(state: AppState) -> Router {
    let limits = &state.config.http;
    let concurrency = ConcurrencyLimit::new(limits.max_concurrent_requests, state.metrics.clone());
    let body_deadline = BodyDeadline {
        timeout: limits.body_timeout,
        missed: state.metrics.body_timeouts.clone(),
    };
    let router = Router::new()
        .route("/manifest", get(manifest::get_manifest))
        .route("/health", get(ops::get_health))
        .route("/ready", get(ops::get_ready))
        .route("/metrics", get(ops::get_metrics))
        .route(sidebar::SCRIPT_PATH, get(sidebar::get_script))
        .route(
            sidebar::EXPLORER_SCRIPT_PATH,
            get(sidebar::get_explorer_script),
        )
        .route(sidebar::VIEWS_SCRIPT_PATH, get(sidebar::get_views_script))
        .route(sidebar::STYLE_PATH, get(sidebar::get_style))
        .route(sidebar::ICON_PATH, get(sidebar::get_icon))
        .route("/api/operations", get(studio_api::list_operations))
        .route(
            "/api/calls",
            get(studio_api::list_calls).post(studio_api::create_call),
        )
        .route("/api/calls/{id}", get(studio_api::get_call))
        .route(
            "/api/bootstrap",
            get(bootstrap_api::latest_for_user)
                .post(bootstrap_api::start_for_user)
                .delete(bootstrap_api::cancel_for_user),
        )
        .route("/api/coverage", get(coverage_api::coverage_for_user))
        .route(
            "/api/reconcile",
            get(reconcile_api::passes_for_user).post(reconcile_api::start_for_user),
        )
        .route("/api/me", get(data_api::get_me))
        .route("/api/entities", get(data_api::list_entities))
        .route("/api/entities/{kind}/{id}", get(data_api::get_entity))
        .route("/api/events", get(data_api::list_events))
        .route(
            "/admin/dead-letters",
            get(dead_letters_api::list_dead_letters),
        )
        .route(
            "/admin/dead-letters/{message_id}",
            get(dead_letters_api::inspect_dead_letter)
                .delete(dead_letters_api::discard_dead_letter),
        )
        .route(
            "/admin/dead-letters/{message_id}/replay",
            post(dead_letters_api::replay_dead_letter),
        )
        .route("/admin/audit", get(audit::list_audit))
        .route("/admin/reseal", post(reseal::reseal))
        .route(
            "/admin/workspaces/{workspace_id}/replay",
            get(replay_api::latest_replay).post(replay_api::start_replay),
        )
        .route(
            "/admin/workspaces/{workspace_id}/replay/{replay_id}",
            get(replay_api::get_replay),
        )
        .route(
            "/admin/workspaces/{workspace_id}/coverage",
            get(coverage_api::coverage_for_operator),
        )
        .route(
            "/admin/workspaces/{workspace_id}/reconcile",
            get(reconcile_api::passes_for_operator).post(reconcile_api::start_for_operator),
        )
        .route(
            "/admin/workspaces/{workspace_id}/bootstrap",
            get(bootstrap_api::latest_for_operator).post(bootstrap_api::start_for_operator),
        );
    event_routes(router)
        .fallback(|| async { ApiError::NotFound })
        .layer(from_fn_with_state(
            body_deadline,
            body_deadline::limit_body_time,
        ))
        .layer(from_fn_with_state(concurrency, load_shed::shed_over_limit))
        .layer(from_fn_with_state(state.clone(), request_id::track_request))
        .with_state(state)
}

/// Adds the lifecycle and webhook routes to `router`.
fn event_routes(mut router: Router<AppState>) -> Router<AppState> {
    for kind in lifecycle_routes() {
        router = router.route(
            kind.path(),
            post(move |state, request_id, headers, body| {
                handle_lifecycle(kind, state, request_id, headers, body)
            }),
        );
    }
    for event in webhook_routes() {
        router = router.route(
            &event.path(),
            post(move |state, request_id, headers, body| {
                handle_webhook(event, state, request_id, headers, body)
            }),
        );
    }
    router.route(SIDEBAR_PATH, get(sidebar::get_sidebar))
}
