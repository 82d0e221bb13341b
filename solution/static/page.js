// Starts the page's wasm. `wasm_bindgen` comes from /pkg/page.js (the
// wasm-bindgen glue); once the module is instantiated, Rust takes over.
wasm_bindgen({ module_or_path: '/pkg/page_bg.wasm' }).then(() => wasm_bindgen.start_page());
