//! Aliyun's MQTT file download, the way an OTA image whose notice says
//! `"dProtocol":"mqtt"` reaches a device: the device asks on
//! `/sys/{pk}/{dn}/thing/file/download` for `size` bytes at `offset` of a stream's file,
//! and the cloud answers on `…/download_reply` with a binary payload: the JSON header's
//! length (two bytes, big-endian), the header, the block, and a CRC-16 of the block
//! (little-endian). Written from the layout the Link SDK's `mqtt_download` reads; the
//! cloud's answers to bad requests are not documented, so the code and message of a
//! refusal here are the emulator's choice (README).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Cloud;
use crate::login::Identity;

/// Alink's code for a request whose parameters are wrong, used for every refusal.
const BAD_REQUEST: u32 = 460;

/// A file the cloud streams to one device.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub who: Identity,
    pub stream_id: u64,
    pub file_id: u64,
    pub bytes: Arc<Vec<u8>>,
}

/// A block request a device sent, as the cloud read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRequest {
    /// Who asked.
    pub from: Identity,
    /// The request's `id`.
    pub id: String,
    /// `params.fileInfo.streamId`.
    pub stream_id: u64,
    /// `params.fileInfo.fileId`.
    pub file_id: u64,
    /// `params.fileBlock.offset`.
    pub offset: u64,
    /// `params.fileBlock.size`.
    pub size: u64,
    /// The refusal the cloud answered with, if it refused (`None`: a block went back, or
    /// a fault kept the answer back).
    pub refused: Option<String>,
}

/// Deliberate misbehaviour of the file download, for one request; queue it with
/// [`CloudEmulator::fail_block_request`](crate::CloudEmulator::fail_block_request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockFault {
    /// No answer at all.
    NoReply,
    /// The block after the one asked for, under its own offset.
    WrongOffset,
    /// The right block with a CRC that does not match it.
    BadCrc,
    /// The connection is closed instead of answering.
    Close,
}

/// What the cloud does about a publish on the request topic.
pub(crate) enum Answer {
    /// Send this payload on the reply topic.
    Reply(String, Vec<u8>),
    /// Say nothing.
    Nothing,
    /// Close the connection.
    Close,
}

/// The request topic of `who`, if its cloud has the file download.
pub(crate) fn is_request(who: &Identity, topic: &str) -> bool {
    who.cloud == Cloud::Aliyun
        && topic == format!("/sys/{}/{}/thing/file/download", who.product, who.device)
}

/// CRC-16/ARC: reflected polynomial 0x8005, initial value 0, no final XOR.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            let carry = crc & 1;
            crc >>= 1;
            if carry == 1 {
                crc ^= 0xA001;
            }
        }
    }
    crc
}

/// `header` framed as a reply: its length, itself, `block` and the block's CRC.
fn frame(header: &Value, block: &[u8], crc: u16) -> Vec<u8> {
    let header = header.to_string();
    let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(2 + header.len() + block.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(block);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Reads a request and answers it from `streams`; the request is recorded in `log`.
pub(crate) fn answer(
    who: &Identity,
    payload: &[u8],
    streams: &[Stream],
    fault: Option<BlockFault>,
    log: &mut Vec<BlockRequest>,
) -> Answer {
    let reply_topic = format!(
        "/sys/{}/{}/thing/file/download_reply",
        who.product, who.device
    );
    let doc: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let number = |group: &str, name: &str| doc["params"][group][name].as_u64();
    let id = doc["id"].as_str().map(str::to_owned);
    let mut request = BlockRequest {
        from: who.clone(),
        id: id.clone().unwrap_or_default(),
        stream_id: number("fileInfo", "streamId").unwrap_or(0),
        file_id: number("fileInfo", "fileId").unwrap_or(0),
        offset: number("fileBlock", "offset").unwrap_or(0),
        size: number("fileBlock", "size").unwrap_or(0),
        refused: None,
    };
    let stream = streams.iter().find(|s| {
        s.who == *who && s.stream_id == request.stream_id && s.file_id == request.file_id
    });
    let why = if id.as_deref().is_none_or(str::is_empty) {
        Some("id is not a string")
    } else if doc["version"] != "1.0" {
        Some("version is not 1.0")
    } else if !doc["params"]["fileToken"].is_string() {
        Some("fileToken is missing")
    } else if [
        number("fileInfo", "streamId"),
        number("fileInfo", "fileId"),
        number("fileBlock", "offset"),
        number("fileBlock", "size"),
    ]
    .contains(&None)
    {
        Some("fileInfo or fileBlock is missing a number")
    } else if stream.is_none() {
        Some("no such stream for this device")
    } else if request.size == 0 {
        Some("size is 0")
    } else if stream.is_some_and(|s| request.offset >= s.bytes.len() as u64) {
        Some("offset is past the end of the file")
    } else {
        None
    };
    let (Some(stream), None) = (stream, why) else {
        let why = why.unwrap_or("no such stream for this device");
        request.refused = Some(why.to_owned());
        log.push(request);
        let header = json!({"code": BAD_REQUEST, "id": id, "message": why});
        return Answer::Reply(reply_topic, frame(&header, &[], crc16(&[])));
    };
    let len = stream.bytes.len() as u64;
    log.push(request.clone());
    let mut offset = request.offset;
    match fault {
        Some(BlockFault::NoReply) => return Answer::Nothing,
        Some(BlockFault::Close) => return Answer::Close,
        Some(BlockFault::WrongOffset) => {
            offset = (offset + request.size).min(len.saturating_sub(1));
        }
        Some(BlockFault::BadCrc) | None => {}
    }
    // A request past the end gets what there is.
    let end = offset.saturating_add(request.size).min(len);
    let block = &stream.bytes[offset as usize..end as usize];
    let mut crc = crc16(block);
    if fault == Some(BlockFault::BadCrc) {
        crc ^= 0x5a5a;
    }
    let header = json!({"code": 200, "id": id, "message": "success",
        "data": {"bOffset": offset, "fileLength": len, "bSize": block.len()}});
    Answer::Reply(reply_topic, frame(&header, block, crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Identity {
        Identity {
            cloud: Cloud::Aliyun,
            product: "pk".into(),
            device: "dn".into(),
        }
    }

    fn streams() -> Vec<Stream> {
        vec![Stream {
            who: who(),
            stream_id: 7,
            file_id: 1,
            bytes: Arc::new((0..100u8).collect()),
        }]
    }

    fn request(offset: u64, size: u64) -> Vec<u8> {
        json!({"id": "3", "version": "1.0", "params": {"fileToken": "default",
            "fileInfo": {"streamId": 7, "fileId": 1},
            "fileBlock": {"size": size, "offset": offset}}})
        .to_string()
        .into_bytes()
    }

    fn split(reply: &[u8]) -> (Value, &[u8], u16) {
        let len = usize::from(u16::from_be_bytes([reply[0], reply[1]]));
        let header = serde_json::from_slice(&reply[2..2 + len]).unwrap();
        let rest = &reply[2 + len..];
        let (block, crc) = rest.split_at(rest.len() - 2);
        (header, block, u16::from_le_bytes([crc[0], crc[1]]))
    }

    #[test]
    fn the_crc_is_the_arc_crc() {
        assert_eq!(crc16(b"123456789"), 0xBB3D);
    }

    #[test]
    fn a_request_is_answered_with_its_block_and_recorded() {
        let mut log = Vec::new();
        let Answer::Reply(topic, reply) =
            answer(&who(), &request(90, 20), &streams(), None, &mut log)
        else {
            panic!("no reply");
        };
        assert_eq!(topic, "/sys/pk/dn/thing/file/download_reply");
        let (header, block, crc) = split(&reply);
        assert_eq!(header["code"], 200);
        assert_eq!(header["id"], "3");
        assert_eq!(header["data"]["bOffset"], 90);
        assert_eq!(header["data"]["bSize"], 10, "what there is past 90");
        assert_eq!(header["data"]["fileLength"], 100);
        assert_eq!(block, (90..100u8).collect::<Vec<_>>());
        assert_eq!(crc, crc16(block));
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].offset, log[0].size, log[0].refused.clone()),
            (90, 20, None)
        );
    }

    #[test]
    fn bad_requests_are_refused_and_faults_played() {
        let mut log = Vec::new();
        let mut unknown = request(0, 10);
        unknown = String::from_utf8(unknown)
            .unwrap()
            .replace("\"streamId\":7", "\"streamId\":8")
            .into_bytes();
        let Answer::Reply(_, reply) = answer(&who(), &unknown, &streams(), None, &mut log) else {
            panic!("no reply");
        };
        let (header, block, _) = split(&reply);
        assert_eq!(header["code"], BAD_REQUEST);
        assert!(block.is_empty());
        assert_eq!(
            log[0].refused.as_deref(),
            Some("no such stream for this device")
        );
        assert!(matches!(
            answer(&who(), &request(100, 1), &streams(), None, &mut log),
            Answer::Reply(..)
        ));
        assert_eq!(
            log[1].refused.as_deref(),
            Some("offset is past the end of the file")
        );

        assert!(matches!(
            answer(
                &who(),
                &request(0, 10),
                &streams(),
                Some(BlockFault::NoReply),
                &mut log
            ),
            Answer::Nothing
        ));
        let Answer::Reply(_, reply) = answer(
            &who(),
            &request(0, 10),
            &streams(),
            Some(BlockFault::WrongOffset),
            &mut log,
        ) else {
            panic!("no reply");
        };
        assert_eq!(split(&reply).0["data"]["bOffset"], 10);
        let Answer::Reply(_, reply) = answer(
            &who(),
            &request(0, 10),
            &streams(),
            Some(BlockFault::BadCrc),
            &mut log,
        ) else {
            panic!("no reply");
        };
        let (_, block, crc) = split(&reply);
        assert_ne!(crc, crc16(block));
    }
}
