//! The profile Firefox starts with: its `user.js`, with what the lesson needs
//! and nothing of the browser's own traffic.

/// The profile's `user.js`: what the lesson needs, and quiet — no first-run
/// pages, updates, telemetry or other traffic of the browser's own.
pub(super) const USER_JS: &str = r#"// Written by the harness (xtask/harness/src/browsers/firefox/profile.rs).
// Notifications in a headless browser, allowed without a prompt.
user_pref("alerts.useSystemBackend", false);
user_pref("permissions.default.desktop-notification", 1);
// The service worker's console on stdout (BiDi does not report it).
user_pref("devtools.console.stdout.content", true);
// A restart must come back to nothing but what the harness opens.
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.tabs.warnOnClose", false);
// No traffic of its own.
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.blocklist.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("services.settings.server", "http://127.0.0.1:9/");
// Marionette on a port the system picks (written to MarionetteActivePort in
// the profile), so that runs side by side never collide on 2828.
user_pref("marionette.port", 0);
"#;

/// The profile's push service. Firefox's is a pref, normally Mozilla's on
/// the internet; `testing.allowInsecureServerURL` lets it be a plain `ws://`
/// one, the harness's own on 127.0.0.1 (`standins/autopush.rs`). Without one, no
/// connection at all: the default cannot be reached here.
pub(super) fn push_prefs(server_url: Option<&str>) -> String {
    match server_url {
        Some(url) => format!(
            r#"// Web Push through the harness's push service (autopush.rs).
user_pref("dom.push.serverURL", {url:?});
user_pref("dom.push.testing.allowInsecureServerURL", true);
user_pref("dom.push.connection.enabled", true);
"#
        ),
        None => r#"// No push service to connect to.
user_pref("dom.push.connection.enabled", false);
"#
        .to_owned(),
    }
}
