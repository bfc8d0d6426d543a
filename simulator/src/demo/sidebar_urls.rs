//! The sidebar URLs the demo prints: the real page, opened in any browser, against the stand-in.

use crate::signer::{ClockifySigner, SidebarViewer};

/// Prints sidebar URLs for the workspace's owner (light theme) and a member (dark theme), signed
/// for the demo's key and valid for a working day, so the page opens in any browser.
pub(super) fn print_sidebar_urls(
    signer: &ClockifySigner,
    base_url: &str,
    workspace_id: &str,
    addon_id: &str,
    api_url: &str,
) {
    const DEMO_RUN_SECS: u64 = 12 * 60 * 60;
    println!("\nSidebar (open in a browser; tokens valid for 12 hours):");
    for (label, user_id, role, theme, language) in [
        ("owner ", "demo-owner", "OWNER", "DEFAULT", "EN"),
        ("member", "demo-member", "USER", "DARK", "DE"),
    ] {
        let viewer = SidebarViewer {
            user_id,
            role,
            theme,
            language,
            valid_for_secs: DEMO_RUN_SECS,
        };
        let token = signer.sidebar_token(workspace_id, addon_id, &viewer, api_url);
        println!("  {label}  {base_url}/ui?auth_token={token}");
    }
}
