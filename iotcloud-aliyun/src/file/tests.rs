//! The file download's request and reply, byte for byte.

use std::string::String;
use std::vec::Vec;

use iotcloud_core::mqtt::QoS;
use iotcloud_core::ota::{
    DigestAlgorithm, ExpectedDigest, Firmware, JobFields, OtaContext, OtaFormat as _,
};

use super::*;

const REPLY: &str = "/sys/a1B2c3/dev01/thing/file/download_reply";

fn aliyun() -> Aliyun<'static> {
    Aliyun::with_secret("a1B2c3", "dev01", "secret").unwrap()
}

/// A reply as the Link SDK reads one: header length, header, block, CRC (little-endian).
fn reply(header: &str, block: &[u8], crc: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(header.len() as u16).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(block);
    if let Some(crc) = crc {
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

/// The header of the documented example, for a block of `size` bytes at `offset`.
fn header(offset: u64, size: usize) -> String {
    std::format!(
        r#"{{"code":200,"data":{{"bOffset":{offset},"fileLength":3604,"bSize":{size}}},"id":"1","message":"success"}}"#
    )
}

fn block(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31) as u8).collect()
}

#[test]
fn the_crc_is_the_16_bit_arc_crc() {
    // The CRC catalogue's check value of CRC-16/ARC.
    assert_eq!(crc16(b"123456789"), 0xBB3D);
    assert_eq!(crc16(b""), 0);
}

#[test]
fn a_block_request_names_stream_file_size_and_offset_in_the_link_sdks_order() {
    let p = aliyun();
    let mut job_buf = [0u8; 256];
    let doc = iotcloud_core::json::Value::parse(
        br#"{"version":"2.0","size":3604,"md5":"a2b0d12f5f8cbbdc3c4c4b2d5d1e7f10"}"#,
    )
    .unwrap();
    let fields = JobFields {
        version: doc.get("version"),
        size: doc.get("size"),
        digest: doc.get("md5").map(|v| (DigestAlgorithm::Md5, v)),
        ..JobFields::default()
    };
    let n = fields.write_streamed("1234/1", &mut job_buf).unwrap();
    let job = OtaJob::decode(&job_buf[..n]).unwrap();
    let ctx = OtaContext {
        firmware: Firmware::new("1.0"),
        message_id: 9,
        unix_time_ms: None,
    };
    let mut buf = [0u8; 512];
    let mut s = Scratch::new(&mut buf);
    let r = p
        .block_request(&job, 2048, 1024, &ctx, &mut s)
        .unwrap()
        .unwrap();
    assert_eq!(r.topic, "/sys/a1B2c3/dev01/thing/file/download");
    assert_eq!(r.qos, QoS::AtMostOnce);
    assert_eq!(
        core::str::from_utf8(r.payload).unwrap(),
        r#"{"id":"9","version":"1.0","params":{"fileToken":"default","fileInfo":{"streamId":1234,"fileId":1},"fileBlock":{"size":1024,"offset":2048}}}"#
    );

    // A job whose stream is not Aliyun's two numbers cannot be asked for.
    let digest =
        ExpectedDigest::from_hex(DigestAlgorithm::Md5, "a2b0d12f5f8cbbdc3c4c4b2d5d1e7f10").unwrap();
    let n =
        iotcloud_core::ota::encode_job(&mut job_buf, "2", "https://h/f", None, &digest).unwrap();
    let http_job = OtaJob::decode(&job_buf[..n]).unwrap();
    let mut s = Scratch::new(&mut buf);
    assert!(matches!(
        p.block_request(&http_job, 0, 1, &ctx, &mut s),
        Err(ProviderError::InvalidValue {
            key: "streamId",
            ..
        })
    ));
}

#[test]
fn the_documented_reply_gives_its_block_checked_by_its_crc() {
    let p = aliyun();
    let data = block(256);
    let payload = reply(&header(0, 256), &data, Some(crc16(&data)));
    let BlockReply::Block {
        offset,
        data: range,
        total,
    } = p.file_block_reply(REPLY, &payload)
    else {
        panic!("not a block");
    };
    assert_eq!((offset, total), (0, Some(3604)));
    assert_eq!(&payload[range], &data[..]);

    // Without the CRC, the block is still framed by its size.
    let plain = reply(&header(512, 256), &data, None);
    assert!(matches!(
        p.file_block_reply(REPLY, &plain),
        BlockReply::Block { offset: 512, .. }
    ));
    // Another topic is not a block reply.
    assert_eq!(
        p.file_block_reply("/sys/a1B2c3/dev01/thing/ota/firmware/get_reply", &payload),
        BlockReply::NotBlock
    );
    assert_eq!(
        p.file_block_reply("/sys/a1B2c3/other/thing/file/download_reply", &payload),
        BlockReply::NotBlock
    );
}

#[test]
fn malformed_replies_are_named() {
    let p = aliyun();
    let data = block(64);
    let good = header(0, 64);
    let crc = crc16(&data);
    let invalid = |payload: &[u8]| match p.file_block_reply(REPLY, payload) {
        BlockReply::Invalid(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(invalid(&[]), BlockError::Short(0));
    assert_eq!(invalid(&[0]), BlockError::Short(1));
    // A header length beyond the payload.
    let mut beyond = reply(&good, &data, Some(crc));
    beyond[0] = 0x7f;
    assert_eq!(
        invalid(&beyond),
        BlockError::HeaderBeyondPayload {
            declared: 0x7f00 | usize::from(beyond[1]),
            available: beyond.len() - 2,
        }
    );
    assert!(matches!(
        invalid(&reply("{\"code\":200,", &data, Some(crc))),
        BlockError::NotJson(_)
    ));
    assert_eq!(
        invalid(&reply(
            r#"{"code":460,"id":"1","message":"request parameter error"}"#,
            &[],
            None
        )),
        BlockError::Refused(460)
    );
    assert_eq!(
        invalid(&reply(
            r#"{"code":200,"data":{"bOffset":0,"fileLength":3604}}"#,
            &data,
            None
        )),
        BlockError::MissingField("bSize")
    );
    assert_eq!(
        invalid(&reply(r#"{"id":"1"}"#, &data, None)),
        BlockError::MissingField("code")
    );
    // A bSize that is not what follows the header.
    assert_eq!(
        invalid(&reply(&header(0, 100), &data, Some(crc))),
        BlockError::Length {
            declared: 100,
            actual: 66
        }
    );
    // A flipped bit in the block, or the CRC in the other byte order.
    let mut flipped = data.clone();
    flipped[10] ^= 0x04;
    assert_eq!(
        invalid(&reply(&good, &flipped, Some(crc))),
        BlockError::Checksum
    );
    assert_eq!(
        invalid(&reply(&good, &data, Some(crc.swap_bytes()))),
        BlockError::Checksum
    );
}

#[test]
fn the_block_size_leaves_room_for_topic_header_and_framing() {
    let p = aliyun();
    let request_topic = "/sys/a1B2c3/dev01/thing/file/download";
    assert_eq!(
        p.file_block_overhead(),
        REPLY.len() + HEADER_ROOM + 4 + request_topic.len() + REQUEST_ROOM
    );
    // The documented example's header fits the room kept for it, with a long token too.
    assert!(header(16_777_215, 5120).len() + 140 < HEADER_ROOM);
}
