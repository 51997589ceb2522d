//! The config parser: YAML text in, a validated config or a list of errors out. Never a
//! panic, whatever the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = octopoll::config::load_str(text, std::path::Path::new("/nonexistent/fuzz.yml"));
    }
});
