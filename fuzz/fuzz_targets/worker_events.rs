//! Frames of worker events, as the binding's `workerEvents` receives them, applied to a
//! live core. Input: chunks of `[worker, length (u16 LE), frame bytes...]`, each applied
//! in turn (then the messages are taken), so sequences of events reach deep states. A
//! frame may be refused with an error; nothing may panic, and every invariant must hold.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use skein_core::WorkerId;
use skein_wire::{apply_worker_events, InlineValues};

fuzz_target!(|data: &[u8]| {
    let mut core = common::cluster();
    let mut inline = InlineValues::default();
    let mut rest = data;
    while let [worker, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        // Workers 0 and 1 are live; 2 and up are unknown ids.
        let w = WorkerId(u32::from(*worker % 4));
        let _ = apply_worker_events(&mut core, &mut inline, w, frame);
        common::drain(&mut core, &mut inline);
        rest = next;
    }
});
