//! The reload path (file watch, SIGHUP, HTTP). PLACEHOLDER.
