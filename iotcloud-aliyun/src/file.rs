//! Aliyun's MQTT file download, which delivers an OTA image whose notice says
//! `"dProtocol":"mqtt"` in blocks: a JSON request on `/sys/{pk}/{dn}/thing/file/download`
//! names the stream, the file, an offset and a size; the reply on `…/download_reply` is
//! binary: a two-byte big-endian header length, the JSON header, the block, and a
//! CRC-16 of the block (see README for what is confirmed and from where).

#[cfg(feature = "ota")]
use core::fmt::Write as _;

#[cfg(feature = "ota")]
use iotcloud_core::json::{Kind, Value};
#[cfg(feature = "ota")]
use iotcloud_core::ota::{BlockError, BlockReply, OtaJob};
#[cfg(feature = "ota")]
use iotcloud_core::provider::ProviderError;
use iotcloud_core::provider::TopicPath;
#[cfg(feature = "ota")]
use iotcloud_core::scratch::{Scratch, TextWriter};

use crate::Aliyun;

/// Room kept for a reply's JSON header when sizing blocks: the documented example is
/// about 90 bytes; the rest allows for a file token and larger numbers.
#[cfg(feature = "ota")]
pub(crate) const HEADER_ROOM: usize = 256;

/// A block request's body at most: its fixed text (125 bytes) and five numbers (90).
#[cfg(feature = "ota")]
pub(crate) const REQUEST_ROOM: usize = 256;

/// The reply's framing around the header and the block: the header length and the CRC.
#[cfg(feature = "ota")]
const FRAMING: usize = 2 + 2;

impl<'a> Aliyun<'a> {
    /// ↑ Block request of the MQTT file download: `/sys/{pk}/{dn}/thing/file/download`.
    pub fn file_download(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/file/download", "")
    }

    /// ↓ Its binary reply: `/sys/{pk}/{dn}/thing/file/download_reply`.
    pub fn file_download_reply(&self) -> TopicPath<'a> {
        self.product_topic("/sys/", "/thing/file/download_reply", "")
    }
}

/// The stream and file of a job delivered over MQTT, as [`stream_text`] wrote them.
#[cfg(feature = "ota")]
pub(crate) fn stream_ids(job: &OtaJob<'_>) -> Result<(u64, u64), ProviderError> {
    job.stream()
        .and_then(|text| text.split_once('/'))
        .and_then(|(stream, file)| Some((stream.parse().ok()?, file.parse().ok()?)))
        .ok_or(ProviderError::InvalidValue {
            key: "streamId",
            reason: "is not a stream and file id",
        })
}

/// The body of request `id` for `len` bytes at `offset` of `file` in `stream`, with the
/// fields in the order the Link SDK sends them (its `fileToken` is always `default`).
#[cfg(feature = "ota")]
pub(crate) fn write_request(
    w: &mut TextWriter<'_>,
    id: u32,
    (stream, file): (u64, u64),
    offset: u64,
    len: usize,
) -> core::fmt::Result {
    write!(
        w,
        "{{\"id\":\"{id}\",\"version\":\"1.0\",\"params\":{{\"fileToken\":\"default\",\
         \"fileInfo\":{{\"streamId\":{stream},\"fileId\":{file}}},\
         \"fileBlock\":{{\"size\":{len},\"offset\":{offset}}}}}}}"
    )
}

/// How a job names Aliyun's stream and file: `{streamId}/{streamFileId}`, written into
/// `buf` (two u64 and a slash take at most 41 bytes).
#[cfg(feature = "ota")]
pub(crate) fn stream_text(stream: u64, file: u64, buf: &mut [u8; 48]) -> &str {
    let mut scratch = Scratch::new(buf);
    scratch
        .format(format_args!("{stream}/{file}"))
        .unwrap_or_default()
}

#[cfg(feature = "ota")]
impl Aliyun<'_> {
    /// Reads a reply on the download reply topic.
    pub(crate) fn file_block_reply(&self, topic: &str, payload: &[u8]) -> BlockReply {
        if !self.file_download_reply().is(topic) {
            return BlockReply::NotBlock;
        }
        match read_reply(payload) {
            Ok(reply) => reply,
            Err(e) => BlockReply::Invalid(e),
        }
    }

    /// The reply's topic, header room and framing, and the request's topic and body.
    pub(crate) fn file_block_overhead(&self) -> usize {
        self.file_download_reply().len()
            + HEADER_ROOM
            + FRAMING
            + self.file_download().len()
            + REQUEST_ROOM
    }
}

#[cfg(feature = "ota")]
fn number(header: &Value<'_>, name: &'static str) -> Result<u64, BlockError> {
    header
        .get(name)
        .and_then(|v| v.as_u64_lenient())
        .ok_or(BlockError::MissingField(name))
}

/// Splits and checks a reply: `[header length: u16 BE][JSON header][block][CRC-16 LE]`.
#[cfg(feature = "ota")]
fn read_reply(payload: &[u8]) -> Result<BlockReply, BlockError> {
    let [hi, lo, rest @ ..] = payload else {
        return Err(BlockError::Short(payload.len()));
    };
    let declared = usize::from(u16::from_be_bytes([*hi, *lo]));
    if declared > rest.len() {
        return Err(BlockError::HeaderBeyondPayload {
            declared,
            available: rest.len(),
        });
    }
    let (header, after) = rest.split_at(declared);
    let doc = Value::parse(header).map_err(BlockError::NotJson)?;
    let code = doc
        .get("code")
        .and_then(|v| v.as_i64())
        .ok_or(BlockError::MissingField("code"))?;
    if code != 200 {
        return Err(BlockError::Refused(code));
    }
    let data = doc
        .get("data")
        .filter(|d| d.kind() == Kind::Object)
        .ok_or(BlockError::MissingField("data"))?;
    let size = number(&data, "bSize")?;
    let offset = number(&data, "bOffset")?;
    let total = number(&data, "fileLength")?;
    let actual = after.len() as u64;
    let block = if actual == size.saturating_add(2) {
        let (block, crc) = after.split_at(after.len() - 2);
        // The Link SDK reads the CRC in the CPU's byte order, little-endian on its targets.
        if crc16(block) != u16::from_le_bytes([crc[0], crc[1]]) {
            return Err(BlockError::Checksum);
        }
        block
    } else if actual == size {
        after
    } else {
        return Err(BlockError::Length {
            declared: size,
            actual,
        });
    };
    let start = 2 + declared;
    Ok(BlockReply::Block {
        offset,
        data: start..start + block.len(),
        total: Some(total),
    })
}

/// CRC-16 with the reflected polynomial 0xA001 (0x8005), initial value 0 and no final
/// XOR (the "IBM" or "ARC" CRC), computed bit by bit: a table would cost 512 bytes of
/// flash for blocks that arrive far slower than this runs.
#[cfg(feature = "ota")]
pub(crate) fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, byte| {
        (0..8).fold(crc ^ u16::from(*byte), |c, _| {
            if c & 1 == 1 {
                (c >> 1) ^ 0xA001
            } else {
                c >> 1
            }
        })
    })
}

#[cfg(test)]
#[cfg(feature = "ota")]
mod tests;
