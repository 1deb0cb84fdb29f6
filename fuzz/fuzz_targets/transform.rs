//! Input transformation: target input options and events from bytes.
//!
//! Input: one mode byte, then fields separated by 0xFF (never in UTF-8):
//! the event JSON, then the option text (Input, InputPath or
//! InputTemplate by mode), then InputPathsMap entries as name, path pairs.
//! Whatever the input, configuration gives a target or a ConfigError and
//! applying gives a body or a reason; a delivered JSON body is valid JSON
//! and the whole event written compactly reads back as the same event.
#![no_main]

use evmatch_json::{parse_value, Reader};
use evmatch_router::transform::{TargetInput, TemplateMode, TransformContext, TransformerConfig};
use libfuzzer_sys::fuzz_target;

fn valid_json(text: &str) -> bool {
    let mut r = Reader::with_max_depth(text, usize::MAX);
    let mut any = false;
    loop {
        match r.next_token() {
            Ok(Some(_)) => any = true,
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    any && r.finish().is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut fields = rest.split(|&b| b == 0xFF).map(std::str::from_utf8);
    let Some(Ok(event)) = fields.next() else {
        return;
    };
    let option = match fields.next() {
        Some(Ok(t)) => t,
        Some(Err(_)) => return,
        None => "",
    };
    let mut paths = Vec::new();
    while let (Some(Ok(name)), Some(Ok(path))) = (fields.next(), fields.next()) {
        paths.push((name.to_string(), path.to_string()));
    }
    let transformer = TransformerConfig {
        paths: &paths,
        template: Some(option),
    };
    let target = match mode % 4 {
        0 => TargetInput::new("t", None, None, None),
        1 => TargetInput::new("t", Some(option), None, None),
        2 => TargetInput::new("t", None, Some(option), None),
        _ => TargetInput::new("t", None, None, Some(transformer)),
    };
    let Ok(target) = target else {
        return;
    };
    let Ok(event) = parse_value(event) else {
        return;
    };
    let ctx = TransformContext::new(
        "rule",
        "arn:aws:events:us-east-1:123456789012:rule/rule",
        "2024-01-01T00:00:00Z",
    );
    let json_out = match &target {
        TargetInput::Transformer(t) => t.mode() == TemplateMode::Json,
        _ => true,
    };
    if let Ok(body) = target.apply(&event, &ctx) {
        if json_out {
            assert!(valid_json(&body), "delivered invalid JSON: {body:?}");
        }
        if matches!(target, TargetInput::Event) {
            let back = parse_value(&body).map_err(|e| e.to_string());
            assert_eq!(back, Ok(event), "compact form does not read back");
        }
    }
});
