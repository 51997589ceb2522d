//! The config parser: YAML text in, a validated config or a list of errors out. Never a
//! panic, whatever the text. The input may carry a module file (snmp_exporter's snmp.yml
//! format) after a `\n#8<\n` line; the config then lists it, or the input itself is read
//! as one, so both parsers are covered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

const CUT: &str = "\n#8<\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = Path::new("/nonexistent/fuzz.yml");
    let module = Path::new("/nonexistent/m.yml");
    match text.split_once(CUT) {
        Some((config, module_text)) => {
            let _ = octopoll::config::load_texts(config, name, &[(module, module_text)]);
        }
        None => {
            let _ = octopoll::config::load_str(text, name);
            let listing = "module_files: [m.yml]\n";
            let _ = octopoll::config::load_texts(listing, name, &[(module, text)]);
        }
    }
});
