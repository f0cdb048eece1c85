//! The device's side of a download in blocks over MQTT: block requests go out on the
//! device's own connection, and while it waits for each reply it keeps handling whatever
//! else the connection delivers, which goes to the download's event callback.

use super::driver::Core;
use super::ota::{Host, OtaEvent, SystemMessage};
use crate::mqtt::Packet;
use crate::ota::{
    Block, BlockFailure, BlockHost, BlockReply, DownloadSettings, MIN_BLOCK, OtaError,
    OtaFormat as _, OtaJob,
};
use crate::platform::{Platform, TransportError};
use crate::provider::Provider;

/// The bytes of MQTT framing around a block reply's topic and payload: the fixed header
/// (at most five bytes), the topic's length and a packet id.
const PUBLISH_FRAMING: usize = 5 + 2 + 2;

impl<P: Provider, Pf: Platform> Core<'_, P, Pf> {
    /// The block size to ask for: what the settings allow and a reply the receive memory
    /// holds, framing and the provider's header included.
    pub(super) fn block_size<E, S>(
        &self,
        settings: &DownloadSettings<'_>,
    ) -> Result<usize, OtaError<E, S>> {
        let overhead = match self.provider.ota() {
            Ok(format) => format.block_overhead(),
            Err(_) => 0,
        };
        if overhead == 0 {
            // The provider reads no block replies.
            return Err(OtaError::OverMqtt);
        }
        let framing = PUBLISH_FRAMING + overhead;
        let capacity = self.inbox.capacity();
        let room = capacity.saturating_sub(framing);
        if room < MIN_BLOCK {
            return Err(OtaError::ReceiveMemoryTooSmall {
                capacity,
                needed: framing + MIN_BLOCK,
            });
        }
        Ok(room.min(settings.block_size.max(1)))
    }
}

/// Where a block reply's bytes are, found before they are handed out.
enum Found {
    Other,
    Invalid(crate::ota::BlockError),
    Block {
        offset: u64,
        start: usize,
        end: usize,
        total: Option<u64>,
    },
}

impl<P, Pf, F> BlockHost for Host<'_, '_, '_, P, Pf, F>
where
    P: Provider,
    Pf: Platform,
    Pf::Clock: Clone,
    F: FnMut(OtaEvent<'_, TransportError<Pf>>),
{
    async fn request_block(
        &mut self,
        job: &OtaJob<'_>,
        offset: u64,
        len: usize,
    ) -> Result<(), BlockFailure> {
        let core = &mut *self.core.0;
        // The last reply is done with; the request is built in the memory it held.
        core.inbox.consume();
        core.check_interrupted().await;
        if !core.session.is_connected() {
            return Err(BlockFailure::LinkLost);
        }
        match core
            .send_system(SystemMessage::Block { offset, len }, Some(job))
            .await
        {
            Ok(()) => {}
            Err(crate::Error::Provider(e)) => return Err(BlockFailure::Request(e)),
            Err(e) => {
                (self.on_event)(OtaEvent::Error(e));
                return Err(BlockFailure::LinkLost);
            }
        }
        if core.write_out(&[]).await.is_err() || !core.session.is_connected() {
            return Err(BlockFailure::LinkLost);
        }
        Ok(())
    }

    async fn next_block(&mut self) -> Result<Block<'_>, BlockFailure> {
        let (offset, start, end, total) = loop {
            match self.before_read().await {
                None => continue,
                Some(false) => return Err(BlockFailure::LinkLost),
                Some(true) => {}
            }
            let core = &mut *self.core.0;
            let len = match core.step().await {
                Ok(Some(len)) => len,
                Ok(None) => continue,
                Err(e) => {
                    (self.on_event)(OtaEvent::Error(e));
                    continue;
                }
            };
            let found = match Packet::decode_from_broker(core.inbox.head(len)) {
                Ok(Some((Packet::Publish(p), _))) => {
                    // The payload runs to the end of the packet.
                    let at = len - p.payload.len();
                    let reply = match core.provider.ota() {
                        Ok(format) => format.block_reply(p.topic.as_str(), p.payload),
                        Err(_) => BlockReply::NotBlock,
                    };
                    match reply {
                        BlockReply::Block {
                            offset,
                            data,
                            total,
                        } if data.start <= data.end && data.end <= p.payload.len() => {
                            Found::Block {
                                offset,
                                start: at + data.start,
                                end: at + data.end,
                                total,
                            }
                        }
                        BlockReply::Block { .. } => {
                            Found::Invalid(crate::ota::BlockError::Short(p.payload.len()))
                        }
                        BlockReply::Invalid(e) => Found::Invalid(e),
                        _ => Found::Other,
                    }
                }
                _ => Found::Other,
            };
            match found {
                Found::Block {
                    offset,
                    start,
                    end,
                    total,
                } => break (offset, start, end, total),
                Found::Invalid(e) => return Err(BlockFailure::Invalid(e)),
                Found::Other => self.hand_on(len),
            }
        };
        debug!("OTA block of {} bytes at {}", end - start, offset);
        Ok(Block {
            offset,
            data: &self.core.0.inbox.received()[start..end],
            total,
        })
    }
}
