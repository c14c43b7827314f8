//! Graphs as the binding's `submitGraph` receives them, decoded and submitted to a core
//! that already holds tasks (so dependencies on existing keys and reused keys are
//! reachable). Input: `[flags, frame bytes...]`; flags choose the wanted keys. A graph may
//! be refused with an error; nothing may panic, and every invariant must hold.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use skein_core::ClientId;
use skein_wire::{decode_graph, InlineValues};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, frame)) = data.split_first() else {
        return;
    };
    let Ok(tasks) = decode_graph(frame) else {
        return;
    };
    let mut core = common::cluster();
    let mut inline = InlineValues::default();
    let keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
    let mut wanted: Vec<&str> = match flags % 4 {
        0 => keys.iter().map(String::as_str).collect(),
        1 => keys.iter().take(1).map(String::as_str).collect(),
        2 => vec!["a", "d"],
        _ => vec![],
    };
    if flags & 4 != 0 {
        wanted.push("not-a-key");
    }
    let again = tasks.clone();
    let _ = core.submit_graph(ClientId(0), tasks, &wanted);
    common::drain(&mut core, &mut inline);
    if flags & 8 != 0 {
        // The same graph again: every key now exists (or the first was refused).
        let _ = core.submit_graph(ClientId(0), again, &wanted);
        common::drain(&mut core, &mut inline);
    }
    if flags & 16 != 0 {
        let _ = core.cancel_keys(ClientId(0), &wanted);
        common::drain(&mut core, &mut inline);
    }
});
