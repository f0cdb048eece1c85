//! A firmware download against a server sending arbitrary responses, one per connection:
//! `Content-Length`, `Content-Range` on resumed requests, chunked bodies, redirects,
//! drops, and a second download resuming from the first one's checkpoint.
//!
//! The job's digest is that of the first section (the image); the other sections are
//! what the server answers.
//!
//! - Nothing panics or hangs; the sink is used as its contract says (begun before
//!   written, written in order, finished at the length written).
//! - A download that succeeds finished the sink with exactly the image, and left no
//!   checkpoint; one that fails never finished it.
//! - Progress never exceeds the size, and percentages stay within 100.
#![no_main]

use iotcloud_core::ota::{
    DigestAlgorithm, DownloadHost, DownloadIo, DownloadSettings, ExpectedDigest, OtaError, OtaJob,
    Progress, checkpoint_key, download, encode_job,
};
use iotcloud_fuzz::{Layout, MemSink, MemStore, VirtualClock, Wire, block_on};
use libfuzzer_sys::fuzz_target;
use md5::Md5;
use sha2::{Digest, Sha256};

struct Host<'s> {
    store: &'s mut MemStore,
    size: Option<u64>,
    last: u64,
}

impl DownloadHost for Host<'_> {
    type Store = MemStore;

    fn store(&mut self) -> &mut MemStore {
        self.store
    }

    async fn progress(&mut self, p: Progress) {
        assert_eq!(p.total, self.size);
        if let Some(size) = self.size {
            assert!(p.received <= size, "progress past the size");
        }
        assert!(p.percent.is_none_or(|pc| pc <= 100));
        assert!(p.connections >= 1);
        self.last = p.received;
    }

    async fn retrying(&mut self, p: Progress, _delay_ms: u64) {
        assert_eq!(p.total, self.size);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let layout = Layout::read(data);
    let image = layout.sections[0];
    let responses = &layout.sections[1..];
    let flags = layout.flags;

    let (algorithm, digest) = if flags & 2 == 0 {
        (DigestAlgorithm::Md5, hex(&Md5::digest(image)))
    } else {
        (DigestAlgorithm::Sha256, hex(&Sha256::digest(image)))
    };
    let digest = ExpectedDigest::from_hex(algorithm, &digest).expect("a digest");
    let size = (flags & 1 != 0).then_some(image.len() as u64);
    let mut job_buf = [0u8; 256];
    let n = encode_job(
        &mut job_buf,
        "2.0.0",
        "http://fuzz.example/fw.bin",
        size,
        &digest,
    )
    .expect("a job fits");
    let job = OtaJob::decode(&job_buf[..n]).expect("a job decodes");

    let settings = DownloadSettings {
        max_redirects: 2,
        max_attempts: 1 + u32::from(flags >> 6),
        retry_delay_ms: 10,
        max_retry_delay_ms: 40,
        checkpoint_every: [0, 1, 7, 64][usize::from(flags >> 2) & 3],
        progress_step: 1,
        progress_interval_ms: 0,
        ..DownloadSettings::default()
    };
    let buf_len = [1024, 1100, 2048, 4096][usize::from(flags >> 4) & 3];

    let mut wire = Wire::new(responses, layout.fragments);
    let clock = VirtualClock::new();
    let mut store = MemStore::default();
    let mut sink = MemSink::default();
    let mut buf = vec![0u8; buf_len];

    // Two downloads of the same job: the second resumes where the first gave up.
    for _ in 0..2 {
        let mut host = Host {
            store: &mut store,
            size,
            last: 0,
        };
        let io = DownloadIo {
            transport: &mut wire,
            clock: &clock,
            buf: &mut buf,
        };
        let result = block_on(download(io, &job, &mut sink, &settings, &mut host))
            .expect("a download never waits on the in-memory network");
        match result {
            Ok(len) => {
                assert_eq!(len, image.len() as u64);
                assert_eq!(sink.finished, Some(len));
                assert_eq!(sink.image, image, "the sink holds the verified image");
                assert!(!store.map.contains_key(checkpoint_key(&job).as_str()));
                return;
            }
            Err(OtaError::Sink(misuse)) => panic!("sink misused: {}", misuse.0),
            Err(_) => assert_eq!(sink.finished, None, "a failed download finished the sink"),
        }
        if wire.connects >= responses.len() {
            return;
        }
    }
});
