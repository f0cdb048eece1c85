//! OTA jobs: a notice's fields (from a fuzzer-made JSON document) written as an encoded
//! job into a fuzzer-sized buffer and read back, and encoded jobs decoded from arbitrary
//! bytes.
//!
//! - `JobFields::write` either fits the buffer, or says `TooLarge` with the exact size
//!   that then fits; its other refusals do not depend on the buffer.
//! - What it wrote decodes to the fields given: version, URL, size, digest, module, task
//!   and token, unescaped; `copy_into` and `encode_job` keep the job.
//! - `OtaJob::decode` of arbitrary bytes never panics, and what it reads points into them.
#![no_main]

use iotcloud_core::json::{Kind, Value};
use iotcloud_core::ota::{
    DigestAlgorithm, ExpectedDigest, JobFields, OtaJob, OtaNoticeError, encode_job,
};
use libfuzzer_sys::fuzz_target;

fn text(v: Value<'_>) -> String {
    let mut s = String::new();
    if v.kind() == Kind::Number {
        s.push_str(core::str::from_utf8(v.raw()).expect("numbers are ASCII"));
    } else {
        v.write_str_to(&mut s).expect("a string writes out");
    }
    s
}

/// An optional field as the job keeps it: absent, null and "" are no field.
fn optional(v: Option<Value<'_>>) -> Option<String> {
    v.filter(|v| v.kind() != Kind::Null)
        .map(text)
        .filter(|t| !t.is_empty())
}

fn within(outer: &[u8], inner: &str) -> bool {
    let (o, i) = (outer.as_ptr_range(), inner.as_bytes().as_ptr_range());
    inner.is_empty() || o.start <= i.start && i.end <= o.end
}

fn check_decoded(bytes: &[u8]) {
    let Some(job) = OtaJob::decode(bytes) else {
        return;
    };
    assert_eq!(job.encoded(), bytes);
    for s in [job.version(), job.url()]
        .into_iter()
        .chain(job.module())
        .chain(job.task_id())
        .chain(job.bearer_token())
    {
        assert!(within(bytes, s), "decoded strings point into the encoding");
    }
    let _ = format!("{job:?}");
    // The job survives a copy, and re-encoding its required fields.
    let mut copy = vec![0u8; bytes.len()];
    let copied = job
        .copy_into(&mut copy)
        .expect("a job copies into its size");
    assert_eq!(copied, job);
    if !bytes.is_empty() {
        assert!(matches!(
            job.copy_into(&mut vec![0u8; bytes.len() - 1]),
            Err(OtaNoticeError::TooLarge { .. })
        ));
    }
    let mut buf = vec![0u8; bytes.len() + 128];
    if let Some(n) = encode_job(
        &mut buf,
        job.version(),
        job.url(),
        job.size(),
        &job.digest(),
    ) {
        let again = OtaJob::decode(&buf[..n]).expect("an encoded job decodes");
        assert!(again.same_image(&job) || job.module().is_some());
        assert_eq!((again.version(), again.url()), (job.version(), job.url()));
        assert_eq!((again.size(), again.digest()), (job.size(), job.digest()));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    check_decoded(rest);

    let Ok(doc) = Value::parse(rest) else { return };
    let algorithm = if flags & 1 == 0 {
        DigestAlgorithm::Md5
    } else {
        DigestAlgorithm::Sha256
    };
    let fields = JobFields {
        version: doc.get("version"),
        url: doc.get("url"),
        size: doc.get("size"),
        digest: doc.get(algorithm.name()).map(|v| (algorithm, v)),
        module: doc.get("module"),
        task_id: doc.get("task"),
        token: doc.get("token"),
    };
    let buf_len = usize::from(flags >> 1) * 4;
    let mut buf = vec![0u8; buf_len];
    let mut roomy = vec![0u8; 1 << 16];
    let written = fields.write(&mut buf);
    let unbounded = fields.write(&mut roomy);
    let n = match written {
        Ok(n) => {
            assert!(n <= buf_len);
            assert_eq!(unbounded, Ok(n), "the result depends only on the fields");
            assert_eq!(buf[..n], roomy[..n]);
            n
        }
        Err(OtaNoticeError::TooLarge { needed, capacity }) => {
            assert_eq!(capacity, buf_len);
            assert!(needed > buf_len);
            match unbounded {
                Ok(n) => assert_eq!(n, needed, "TooLarge names the size that fits"),
                Err(OtaNoticeError::TooLarge { .. }) => assert!(needed > roomy.len()),
                Err(e) => panic!("{e:?} only with a larger buffer"),
            }
            return;
        }
        Err(e) => {
            assert_eq!(unbounded, Err(e), "refusals do not depend on the buffer");
            return;
        }
    };
    if n > 0 {
        let mut tight = vec![0u8; n - 1];
        assert_eq!(
            fields.write(&mut tight),
            Err(OtaNoticeError::TooLarge {
                needed: n,
                capacity: n - 1
            })
        );
    }

    let job = OtaJob::decode(&buf[..n]).expect("a written job decodes");
    assert_eq!(job.version(), text(fields.version.expect("required")));
    assert_eq!(job.url(), text(fields.url.expect("required")));
    let url = job.url().to_ascii_lowercase();
    assert!(url.starts_with("http://") || url.starts_with("https://"));
    let (alg, hex) = fields.digest.expect("required");
    assert_eq!(
        Some(job.digest()),
        ExpectedDigest::from_hex(alg, &text(hex)),
        "the digest is the notice's"
    );
    let size = fields
        .size
        .filter(|v| v.kind() != Kind::Null)
        .map(|v| v.as_u64_lenient().expect("a size that was accepted"));
    assert_eq!(job.size(), size);
    assert_eq!(job.module().map(str::to_owned), optional(fields.module));
    assert_eq!(job.task_id().map(str::to_owned), optional(fields.task_id));
    assert_eq!(
        job.bearer_token().map(str::to_owned),
        optional(fields.token)
    );
    check_decoded(&buf[..n]);
});
