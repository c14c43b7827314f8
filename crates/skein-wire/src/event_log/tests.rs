use std::io::Cursor;

use skein_core::Config;

use super::*;

/// A log of a config, two event records across two blocks, and two digests.
fn sample() -> (Config, Vec<u8>) {
    let config = Config {
        hash_seed: 0xdead_beef_0123_4567,
        allowed_failures: 7,
        work_stealing: false,
        heartbeat_timeout: 12.5,
        ..Config::default()
    };
    let mut log = header(&config);
    let mut block = BlockBuffer::default();
    block.record(3, |out| {
        put_varint(out, 300);
        put_str(out, "inc-1");
        put_f64(out, 1.25);
        put_bool(out, true);
    });
    block.digest(Some(b"some messages"));
    block.take_block(&mut log);
    block.record(9, |out| put_bytes(out, &[1, 2, 3]));
    block.digest(None);
    block.take_block(&mut log);
    (config, log)
}

fn read_all(bytes: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, EventLogError> {
    let mut r = EventLogReader::open(Cursor::new(bytes), Some(bytes.len() as u64))?;
    let mut out = Vec::new();
    while let Some(rec) = r.next_record()? {
        let mut args = rec.args;
        let n = args.remaining();
        let mut payload = Vec::new();
        for _ in 0..n {
            payload.push(args.u8("byte")?);
        }
        out.push((rec.tag, payload));
    }
    Ok(out)
}

#[test]
fn round_trip() {
    let (config, log) = sample();
    let mut r = EventLogReader::open(Cursor::new(&log), None).unwrap();
    assert_eq!(r.config().hash_seed, config.hash_seed);
    assert_eq!(r.config().allowed_failures, 7);
    assert!(!r.config().work_stealing);
    assert_eq!(r.config().heartbeat_timeout, 12.5);
    assert_eq!(r.config().stall_timeout, config.stall_timeout);

    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.tag, 3);
    let mut a = rec.args;
    assert_eq!(a.u32("client").unwrap(), 300);
    assert_eq!(a.str("key").unwrap(), "inc-1");
    assert_eq!(a.f64("now").unwrap(), 1.25);
    assert!(a.bool("flag").unwrap());
    a.end("event").unwrap();

    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.tag, DIGEST_TAG);
    let mut a = rec.args;
    assert_eq!(a.varint("bytes").unwrap(), 13);
    assert_eq!(a.u64_le("digest").unwrap(), digest(b"some messages"));

    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.tag, 9);
    let mut a = rec.args;
    assert_eq!(a.bytes("graph").unwrap(), &[1, 2, 3]);

    let rec = r.next_record().unwrap().unwrap();
    let mut a = rec.args;
    assert_eq!(a.varint("bytes").unwrap(), 0);
    a.end("digest").unwrap();
    assert!(r.next_record().unwrap().is_none());
}

#[test]
fn long_payload_lengths_round_trip() {
    for n in [0usize, 127, 128, 16_383, 16_384, 70_000] {
        let mut block = BlockBuffer::default();
        let bytes = vec![7u8; n];
        block.record(5, |out| out.extend_from_slice(&bytes));
        let mut log = header(&Config::default());
        block.take_block(&mut log);
        let recs = read_all(&log).unwrap();
        assert_eq!(recs, vec![(5, bytes)]);
    }
}

#[test]
fn every_flipped_byte_is_an_error_at_or_before_it() {
    let (_, log) = sample();
    for i in 0..log.len() {
        let mut bad = log.clone();
        bad[i] ^= 0x40;
        let err = read_all(&bad).expect_err(&format!("flipping byte {i} went unnoticed"));
        assert!(err.offset() <= i as u64, "byte {i}: {err}");
    }
}

#[test]
fn a_flipped_byte_in_a_block_names_that_block() {
    let (config, log) = sample();
    let second_block = header(&config).len() as u64;
    let mut bad = log.clone();
    bad[second_block as usize + 14] ^= 1;
    let err = read_all(&bad).unwrap_err();
    assert_eq!(
        err,
        EventLogError::Corrupted {
            offset: second_block,
            len: u32::from_le_bytes(log[second_block as usize..][..4].try_into().unwrap())
        }
    );
    assert!(err
        .to_string()
        .contains(&format!("byte offset {second_block}")));
    assert_eq!(err.code(), "SKEIN_EVENT_LOG_CORRUPT");
}

#[test]
fn a_cut_inside_a_block_is_truncation_and_at_a_block_end_a_shorter_log() {
    let (config, log) = sample();
    let header_len = header(&config).len();
    let first_block_end = {
        let len = u32::from_le_bytes(log[header_len..][..4].try_into().unwrap()) as usize;
        header_len + 12 + len
    };
    for cut in 0..log.len() {
        let result = read_all(&log[..cut]);
        match cut {
            0 => assert_eq!(result.unwrap_err(), EventLogError::NotAnEventLog),
            c if c == header_len => assert!(result.unwrap().is_empty()),
            c if c == first_block_end => assert_eq!(result.unwrap().len(), 2),
            c => {
                let err = result.expect_err(&format!("a cut at {c} went unnoticed"));
                assert_eq!(err.code(), "SKEIN_EVENT_LOG_TRUNCATED", "cut at {c}: {err}");
                assert!(err.offset() <= c as u64);
            }
        }
    }
}

#[test]
fn truncation_is_found_without_the_length_known_too() {
    let (_, log) = sample();
    let cut = &log[..log.len() - 3];
    let mut r = EventLogReader::open(Cursor::new(cut), None).unwrap();
    let err = loop {
        match r.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the cut went unnoticed"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.code(), "SKEIN_EVENT_LOG_TRUNCATED");
}

#[test]
fn other_versions_and_files_are_refused() {
    let (_, mut log) = sample();
    log[8] = 9;
    assert_eq!(
        read_all(&log).unwrap_err(),
        EventLogError::UnsupportedVersion {
            version: 9,
            supported: VERSION
        }
    );
    assert_eq!(
        read_all(b"{\"not\": \"a log\"}").unwrap_err(),
        EventLogError::NotAnEventLog
    );
    assert_eq!(
        read_all(b"hello").unwrap_err(),
        EventLogError::NotAnEventLog
    );
    assert_eq!(
        read_all(b"SKEIN").unwrap_err().code(),
        "SKEIN_EVENT_LOG_TRUNCATED"
    );
}

/// A block whose checksum holds but whose records are damaged (a writer bug, not a disk's).
fn log_with_content(content: &[u8]) -> Vec<u8> {
    let mut log = header(&Config::default());
    log.extend_from_slice(&(content.len() as u32).to_le_bytes());
    log.extend_from_slice(&digest(content).to_le_bytes());
    log.extend_from_slice(content);
    log
}

#[test]
fn lengths_past_their_container_are_refused_with_offsets() {
    let base = header(&Config::default()).len() as u64 + 12;
    // A record claiming 200 bytes in a block of 4.
    let err = read_all(&log_with_content(&[1, 0xc8, 0x01, 0])).unwrap_err();
    assert_eq!(err.offset(), base);
    assert!(
        err.to_string().contains("runs past the end of its block"),
        "{err}"
    );

    // A count of a billion strings in a record of 6 bytes.
    let log = log_with_content(&[2, 5, 0x80, 0x94, 0xeb, 0xdc, 0x03]);
    let mut r = EventLogReader::open(Cursor::new(&log), None).unwrap();
    let mut rec = r.next_record().unwrap().unwrap();
    let err = rec.args.count(1, "keys").unwrap_err();
    assert_eq!(err.offset(), base + 2);

    // A varint of eleven bytes.
    let log = log_with_content(&[
        2, 11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    let mut r = EventLogReader::open(Cursor::new(&log), None).unwrap();
    let mut rec = r.next_record().unwrap().unwrap();
    assert!(rec
        .args
        .varint("id")
        .unwrap_err()
        .to_string()
        .contains("longer than 64 bits"));

    // A block length past the limit.
    let mut log = header(&Config::default());
    log.extend_from_slice(&(MAX_BLOCK_BYTES + 1).to_le_bytes());
    log.extend_from_slice(&[0; 8]);
    let err = read_all(&log).unwrap_err();
    assert_eq!(err.code(), "SKEIN_EVENT_LOG_CORRUPT");
    assert_eq!(err.offset(), base - 12);
}

#[test]
fn an_unknown_config_field_is_refused() {
    let mut content = Vec::new();
    put_varint(&mut content, 1);
    put_str(&mut content, "warp_factor");
    content.push(b'f');
    put_f64(&mut content, 9.0);
    let mut log = Vec::new();
    log.extend_from_slice(MAGIC);
    log.extend_from_slice(&VERSION.to_le_bytes());
    log.extend_from_slice(&(content.len() as u32).to_le_bytes());
    log.extend_from_slice(&digest(&content).to_le_bytes());
    log.extend_from_slice(&content);
    let err = read_all(&log).unwrap_err();
    assert!(
        err.to_string().contains("'warp_factor' is unknown"),
        "{err}"
    );
    assert_eq!(err.offset(), 10 + 12 + 1);
}

/// Config's Debug output names every field: one added to Config without a line in config.rs
/// would make a replay run with its default, and differ from the recording.
#[test]
fn the_header_holds_every_field_of_the_config() {
    let debug = format!("{:?}", Config::default());
    let body = &debug[debug.find('{').unwrap() + 1..debug.rfind('}').unwrap()];
    let names: Vec<&str> = body
        .split(", ")
        .filter_map(|field| field.split_once(": ").map(|(name, _)| name.trim()))
        .collect();
    assert!(names.len() >= 14, "{debug}");
    let encoded = header(&Config::default());
    for name in names {
        let needle = [&[name.len() as u8][..], name.as_bytes()].concat();
        assert!(
            encoded.windows(needle.len()).any(|w| w == needle),
            "Config::{name} is not in the event log's header: add it to event_log/config.rs"
        );
    }
}

/// Garbage after a valid header, and valid logs with bytes overwritten at random (a simple
/// deterministic generator): reading and parsing every record's arguments never panics, and
/// every error names an offset inside the input.
#[test]
fn garbage_is_refused_without_panicking() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (config, log) = sample();
    for round in 0..3000 {
        let mut bytes = if round % 2 == 0 {
            header(&config)
        } else {
            log.clone()
        };
        if round % 2 == 0 {
            let n = (next() % 200) as usize;
            bytes.extend((0..n).map(|_| next() as u8));
        } else {
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
        }
        let result = (|| -> Result<(), EventLogError> {
            let mut r = EventLogReader::open(Cursor::new(&bytes), Some(bytes.len() as u64))?;
            while let Some(rec) = r.next_record()? {
                let mut a = rec.args;
                // Read the payload as each kind of argument in turn, as a replay might.
                let _ = a
                    .count(1, "a count")
                    .and_then(|n| (0..n).try_for_each(|_| a.str("a string").map(|_| ())));
                let _ = a.f64("a float");
                let _ = a.bytes("bytes");
            }
            Ok(())
        })();
        if let Err(e) = result {
            assert!(e.offset() <= bytes.len() as u64, "round {round}: {e}");
        }
    }
}
