//! The download in blocks against a scripted cloud: what it asks for, what it takes, and
//! what it leaves behind when a reply is lost, wrong or never comes.

use std::collections::VecDeque;
use std::vec::Vec;

use sha2::{Digest as _, Sha256};

use super::*;
use crate::json::Value;
use crate::ota::{DigestAlgorithm, JobFields, OtaFailure, Progress};
use crate::test_support::{MemStore, TestClock, block_on};

/// What the scripted cloud does with one request.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Answers with the block asked for.
    Answer,
    /// Never answers.
    Drop,
    /// Answers with the block before the one asked for (a late reply), then the right one.
    StrayFirst,
    /// Answers with a reply the provider found broken.
    Broken(BlockError),
    /// Answers with more bytes than asked for.
    Oversize,
    /// Answers naming another image size.
    OtherTotal,
    /// The connection drops.
    LoseLink,
}

/// A reply: offset, bytes, image size.
type Reply = (u64, Vec<u8>, Option<u64>);

struct Cloud {
    image: Vec<u8>,
    store: MemStore,
    script: VecDeque<Act>,
    requests: Vec<(u64, usize)>,
    replies: VecDeque<Result<Reply, BlockFailure>>,
    held: Vec<u8>,
    progress: Vec<Progress>,
    retries: u32,
}

impl Cloud {
    fn new(image: &[u8], store: &MemStore, script: &[Act]) -> Self {
        Cloud {
            image: image.to_vec(),
            store: store.clone(),
            script: script.iter().copied().collect(),
            requests: Vec::new(),
            replies: VecDeque::new(),
            held: Vec::new(),
            progress: Vec::new(),
            retries: 0,
        }
    }

    fn block(&self, offset: u64, len: usize) -> Reply {
        let start = offset as usize;
        let end = (start + len).min(self.image.len());
        (
            offset,
            self.image[start..end].to_vec(),
            Some(self.image.len() as u64),
        )
    }
}

impl DownloadHost for Cloud {
    type Store = MemStore;

    fn store(&mut self) -> &mut MemStore {
        &mut self.store
    }

    async fn progress(&mut self, progress: Progress) {
        self.progress.push(progress);
    }

    async fn retrying(&mut self, _: Progress, _: u64) {
        self.retries += 1;
    }
}

impl BlockHost for Cloud {
    async fn request_block(
        &mut self,
        job: &OtaJob<'_>,
        offset: u64,
        len: usize,
    ) -> Result<(), BlockFailure> {
        assert_eq!(job.stream(), Some("7/1"));
        self.requests.push((offset, len));
        let act = self.script.pop_front().unwrap_or(Act::Answer);
        let reply = self.block(offset, len);
        match act {
            Act::Answer => self.replies.push_back(Ok(reply)),
            Act::Drop => {}
            Act::StrayFirst => {
                let before = offset.saturating_sub(len as u64);
                self.replies.push_back(Ok(self.block(before, len)));
                self.replies.push_back(Ok(reply));
            }
            Act::Broken(e) => self.replies.push_back(Err(BlockFailure::Invalid(e))),
            Act::Oversize => {
                let (o, mut data, total) = reply;
                data.push(0);
                self.replies.push_back(Ok((o, data, total)));
            }
            Act::OtherTotal => {
                let (o, data, total) = reply;
                self.replies.push_back(Ok((o, data, total.map(|t| t + 1))));
            }
            Act::LoseLink => return Err(BlockFailure::LinkLost),
        }
        Ok(())
    }

    async fn next_block(&mut self) -> Result<Block<'_>, BlockFailure> {
        let Some(reply) = self.replies.pop_front() else {
            return core::future::pending().await;
        };
        let (offset, data, total) = reply?;
        self.held = data;
        Ok(Block {
            offset,
            data: &self.held,
            total,
        })
    }
}

/// An image held in memory that keeps what it was given across downloads.
#[derive(Default)]
struct Flash {
    bytes: Vec<u8>,
    finished: bool,
    aborted: bool,
    fail_writes: bool,
}

impl FirmwareSink for Flash {
    type Error = &'static str;

    async fn begin(&mut self, _: Option<u64>, resume_at: u64) -> Result<u64, Self::Error> {
        self.finished = false;
        if (self.bytes.len() as u64) < resume_at {
            self.bytes.clear();
            return Ok(0);
        }
        self.bytes.truncate(resume_at as usize);
        Ok(resume_at)
    }

    async fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error> {
        if self.fail_writes {
            return Err("flash write failed");
        }
        assert_eq!(offset, self.bytes.len() as u64, "writes follow each other");
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    async fn finish(&mut self, len: u64) -> Result<(), Self::Error> {
        assert_eq!(len, self.bytes.len() as u64);
        self.finished = true;
        Ok(())
    }

    async fn abort(&mut self) {
        self.aborted = true;
        self.bytes.clear();
    }
}

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn sha256_hex(image: &[u8]) -> std::string::String {
    Sha256::digest(image)
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect()
}

/// An image of `len` bytes and its encoded job.
fn fixture(len: usize) -> (Vec<u8>, Vec<u8>) {
    let img = image(len);
    let mut job = [0u8; 256];
    let n = job_for(&img, &mut job);
    (img, job[..n].to_vec())
}

/// The encoded job for `image` delivered over stream 7, file 1.
fn job_for(image: &[u8], buf: &mut [u8]) -> usize {
    let sha = sha256_hex(image);
    let doc = std::format!(
        r#"{{"version":"2.0","size":{},"sign":"{sha}"}}"#,
        image.len()
    );
    let doc = Value::parse(doc.as_bytes()).unwrap();
    let fields = JobFields {
        version: doc.get("version"),
        size: doc.get("size"),
        digest: doc.get("sign").map(|v| (DigestAlgorithm::Sha256, v)),
        ..JobFields::default()
    };
    fields.write_streamed("7/1", buf).unwrap()
}

fn settings() -> DownloadSettings<'static> {
    DownloadSettings {
        timeout_ms: 1_000,
        retry_delay_ms: 10,
        max_attempts: 3,
        progress_interval_ms: 0,
        ..DownloadSettings::default()
    }
}

type Outcome = Result<u64, OtaError<(), &'static str>>;

fn run(
    cloud: &mut Cloud,
    job: &[u8],
    flash: &mut Flash,
    settings: &DownloadSettings<'_>,
) -> Outcome {
    let job = OtaJob::decode(job).unwrap();
    let clock = TestClock::default();
    block_on(download_blocks(&clock, &job, flash, settings, 256, cloud))
}

#[test]
fn an_image_arrives_block_by_block_at_its_offsets_and_is_finished_once_verified() {
    let (img, job) = fixture(1000);
    let store = MemStore::default();
    let mut cloud = Cloud::new(&img, &store, &[]);
    let mut flash = Flash::default();
    assert_eq!(
        run(&mut cloud, &job, &mut flash, &settings()).unwrap(),
        1000
    );
    assert_eq!(
        cloud.requests,
        [(0, 256), (256, 256), (512, 256), (768, 232)]
    );
    assert_eq!(flash.bytes, img);
    assert!(flash.finished && !flash.aborted);
    let last = cloud.progress.last().unwrap();
    assert_eq!((last.received, last.percent), (1000, Some(100)));
    assert!(store.map.borrow().is_empty(), "no checkpoint left");
}

#[test]
fn a_lost_reply_and_a_late_one_are_asked_for_again_at_the_same_offset() {
    let (img, job) = fixture(600);
    let mut cloud = Cloud::new(
        &img,
        &MemStore::default(),
        &[Act::Answer, Act::Drop, Act::StrayFirst],
    );
    let mut flash = Flash::default();
    assert_eq!(run(&mut cloud, &job, &mut flash, &settings()).unwrap(), 600);
    assert_eq!(
        cloud.requests,
        [(0, 256), (256, 256), (256, 256), (512, 88)]
    );
    assert_eq!(
        cloud.retries, 1,
        "one timeout; the stray reply was passed over"
    );
    assert_eq!(flash.bytes, img);
}

#[test]
fn a_lost_link_ends_the_download_and_the_next_one_resumes_at_the_checkpoint() {
    let (img, job) = fixture(1000);
    let store = MemStore::default();
    let mut flash = Flash::default();
    let mut cloud = Cloud::new(&img, &store, &[Act::Answer, Act::Answer, Act::LoseLink]);
    let err = run(&mut cloud, &job, &mut flash, &settings()).unwrap_err();
    assert!(matches!(err, OtaError::LinkLost), "{err:?}");
    assert_eq!(err.failure(), OtaFailure::Download);
    assert!(!flash.aborted, "what arrived is kept");
    assert_eq!(store.map.borrow().len(), 1, "a checkpoint");

    let mut again = Cloud::new(&img, &store, &[]);
    assert_eq!(
        run(&mut again, &job, &mut flash, &settings()).unwrap(),
        1000
    );
    assert_eq!(
        again.requests[0],
        (512, 256),
        "the first request starts at the checkpoint"
    );
    assert_eq!(flash.bytes, img);
    assert_eq!(again.progress[0].resumed_from, 512);
}

#[test]
fn broken_replies_are_asked_for_again_and_then_named() {
    let (img, job) = fixture(600);
    let broken = Act::Broken(BlockError::Checksum);
    let mut cloud = Cloud::new(&img, &MemStore::default(), &[broken, broken, broken]);
    let mut flash = Flash::default();
    let err = run(&mut cloud, &job, &mut flash, &settings()).unwrap_err();
    assert!(
        matches!(err, OtaError::Block(BlockError::Checksum)),
        "{err:?}"
    );
    assert_eq!(
        cloud.requests,
        [(0, 256); 3],
        "max_attempts requests, then no more"
    );
    assert!(flash.aborted, "nothing arrived: nothing to keep");
}

#[test]
fn silence_is_a_timeout_and_only_stray_replies_name_the_offset() {
    let (img, job) = fixture(600);
    let mut cloud = Cloud::new(&img, &MemStore::default(), &[Act::Drop; 3]);
    let err = run(&mut cloud, &job, &mut Flash::default(), &settings()).unwrap_err();
    assert!(matches!(err, OtaError::NoReply), "{err:?}");
    assert_eq!(err.failure(), OtaFailure::Timeout);

    // Replies for byte 0 only, while byte 256 is wanted.
    let mut cloud = Cloud::new(&img, &MemStore::default(), &[Act::Answer]);
    cloud.script.extend([Act::StrayFirst; 3]);
    let mut flash = Flash::default();
    let settings = settings();
    let job = OtaJob::decode(&job).unwrap();
    let clock = TestClock::default();
    // A host whose replies to the second block all come for the first one.
    struct Stale(Cloud);
    impl DownloadHost for Stale {
        type Store = MemStore;
        fn store(&mut self) -> &mut MemStore {
            &mut self.0.store
        }
    }
    impl BlockHost for Stale {
        async fn request_block(
            &mut self,
            job: &OtaJob<'_>,
            offset: u64,
            len: usize,
        ) -> Result<(), BlockFailure> {
            self.0.request_block(job, offset, len).await?;
            if offset > 0 {
                self.0.replies.retain(|r| matches!(r, Ok((0, ..))));
            }
            Ok(())
        }
        async fn next_block(&mut self) -> Result<Block<'_>, BlockFailure> {
            self.0.next_block().await
        }
    }
    let mut stale = Stale(cloud);
    let err: OtaError<(), &str> = block_on(download_blocks(
        &clock, &job, &mut flash, &settings, 256, &mut stale,
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            OtaError::Block(BlockError::Offset {
                asked: 256,
                actual: 0
            })
        ),
        "{err:?}"
    );
    assert!(!flash.aborted, "the first block is kept for a resume");
}

#[test]
fn a_block_larger_than_asked_or_another_image_size_is_refused_by_name() {
    let (img, job) = fixture(600);
    let mut cloud = Cloud::new(&img, &MemStore::default(), &[Act::Oversize; 3]);
    let err = run(&mut cloud, &job, &mut Flash::default(), &settings()).unwrap_err();
    assert!(
        matches!(
            err,
            OtaError::Block(BlockError::Size {
                asked: 256,
                actual: 257
            })
        ),
        "{err:?}"
    );

    let store = MemStore::default();
    let mut cloud = Cloud::new(&img, &store, &[Act::Answer, Act::OtherTotal]);
    let mut flash = Flash::default();
    let err = run(&mut cloud, &job, &mut flash, &settings()).unwrap_err();
    assert!(
        matches!(
            err,
            OtaError::SizeMismatch {
                expected: 600,
                actual: 601
            }
        ),
        "{err:?}"
    );
    assert_eq!(cloud.requests.len(), 2, "not asked again");
    assert!(
        flash.aborted && store.map.borrow().is_empty(),
        "nothing kept"
    );
}

#[test]
fn the_wrong_image_aborts_the_sink_and_a_failed_write_is_a_storage_failure() {
    let (img, job) = fixture(600);
    let mut other = img.clone();
    other[300] ^= 1;
    let store = MemStore::default();
    let mut cloud = Cloud::new(&other, &store, &[]);
    let mut flash = Flash::default();
    let err = run(&mut cloud, &job, &mut flash, &settings()).unwrap_err();
    assert!(matches!(err, OtaError::DigestMismatch), "{err:?}");
    assert!(flash.aborted && !flash.finished);
    assert!(store.map.borrow().is_empty());

    let mut cloud = Cloud::new(&img, &MemStore::default(), &[]);
    let mut flash = Flash {
        fail_writes: true,
        ..Flash::default()
    };
    let err = run(&mut cloud, &job, &mut flash, &settings()).unwrap_err();
    assert!(
        matches!(err, OtaError::Sink("flash write failed")),
        "{err:?}"
    );
    assert_eq!(err.failure(), OtaFailure::Storage);
    assert_eq!(cloud.requests.len(), 1, "a failed write is not retried");
    assert!(flash.aborted);
}

#[test]
fn a_job_without_a_size_is_refused_before_any_request() {
    let img = image(10);
    let mut buf = [0u8; 256];
    let digest =
        crate::ota::ExpectedDigest::from_hex(DigestAlgorithm::Sha256, &sha256_hex(&img)).unwrap();
    let n = crate::ota::encode_job(&mut buf, "2", "https://h/f", None, &digest).unwrap();
    let mut cloud = Cloud::new(&img, &MemStore::default(), &[]);
    let err = run(&mut cloud, &buf[..n], &mut Flash::default(), &settings()).unwrap_err();
    assert!(
        matches!(err, OtaError::Block(BlockError::MissingField("size"))),
        "{err:?}"
    );
    assert!(cloud.requests.is_empty());
}

#[test]
fn the_http_download_refuses_a_job_delivered_over_mqtt_before_connecting() {
    let (_, job) = fixture(100);
    let job = OtaJob::decode(&job).unwrap();
    let store = MemStore::default();
    let mut transport = crate::test_support::MockTransport::default();
    let clock = TestClock::default();
    let mut buf = [0u8; crate::ota::MIN_DOWNLOAD_BUFFER];
    let io = crate::ota::DownloadIo {
        transport: &mut transport,
        clock: &clock,
        buf: &mut buf,
    };
    let mut flash = Flash::default();
    let mut store_host = crate::ota::Quiet(&mut store.clone());
    let err = block_on(crate::ota::download(
        io,
        &job,
        &mut flash,
        &settings(),
        &mut store_host,
    ))
    .unwrap_err();
    assert!(matches!(err, OtaError::OverMqtt), "{err:?}");
    assert!(transport.state.borrow().frames().is_empty(), "nothing sent");
    assert!(flash.bytes.is_empty());
}
