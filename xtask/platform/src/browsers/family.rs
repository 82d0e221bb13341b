//! The two kinds of browser the harness can drive, the oldest release of
//! each it can, and the products of each kind.

/// The two kinds of browser the harness can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Chrome, Chromium, Edge, Brave: the DevTools protocol.
    Chromium,
    /// Firefox, ESR or release: WebDriver BiDi.
    Firefox,
}

impl Family {
    /// The environment variable that names the executable, and wins.
    pub fn env(self) -> &'static str {
        match self {
            Family::Chromium => "CHROME",
            Family::Firefox => "FIREFOX",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Chromium => "Chromium-family browser",
            Family::Firefox => "Firefox",
        }
    }

    /// The oldest major version the lesson's checks can drive.
    ///
    /// **Chromium 132.** The harness starts Chromium with `--headless`; only
    /// from Chrome 132 on does that flag always mean the *new* headless
    /// mode, the real browser without windows. Before 132 the old headless
    /// mode, a separate and smaller browser built on Chromium's content
    /// layer, was still in the same binary and (up to the releases that
    /// switched the default) what `--headless` started; the checks were
    /// never run there. Everything else is older: the DevTools commands the
    /// harness needs (`ServiceWorker.dispatchSyncEvent`,
    /// `ServiceWorker.deliverPushMessage`, `ServiceWorker.stopAllWorkers`,
    /// the `BackgroundService` domain, `Browser.grantPermissions`, flat
    /// sessions through `Target.setAutoAttach`) have all been there for
    /// years, `Network.overrideNetworkState` (about 137) is optional, and the
    /// app's own `.wasm` needs reference types (Chrome 96), which Rust emits
    /// for `wasm32-unknown-unknown` since 1.82. Edge and Brave number their
    /// releases by the Chromium they are built on.
    ///
    /// **Firefox 119.** The harness's WebDriver BiDi commands, with the
    /// release that first had each (MDN's browser-compat-data):
    /// `browsingContext.reload` 119, `script.evaluate` 106,
    /// `browsingContext.create` with `referenceContext` 107,
    /// `browsingContext.navigate`, `close` and `getTree` 100-101,
    /// `session.subscribe` 93, `log.entryAdded` 94. `permissions.
    /// setPermission` (127), `emulation.setNetworkConditions` (150) and
    /// `script.addPreloadScript` (112) are used where present, with a
    /// fallback otherwise. The oldest ESR with 119 is ESR 128; the harness's
    /// notes name ESR 140 and Firefox 153 as the releases it was run on.
    pub fn oldest_major(self) -> u32 {
        match self {
            Family::Chromium => 132,
            Family::Firefox => 119,
        }
    }
}

/// A browser product, as the places name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Chrome,
    Chromium,
    Edge,
    Brave,
    FirefoxEsr,
    Firefox,
}

impl Product {
    pub fn name(self) -> &'static str {
        match self {
            Product::Chrome => "Google Chrome",
            Product::Chromium => "Chromium",
            Product::Edge => "Microsoft Edge",
            Product::Brave => "Brave",
            Product::FirefoxEsr => "Firefox ESR",
            Product::Firefox => "Firefox",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Product::Chrome | Product::Chromium | Product::Edge | Product::Brave => {
                Family::Chromium
            }
            Product::FirefoxEsr | Product::Firefox => Family::Firefox,
        }
    }
}
