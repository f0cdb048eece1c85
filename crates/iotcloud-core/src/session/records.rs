//! The session's memory: variable-length records packed into one caller-owned byte slice.
//!
//! A record is an 8-byte header — tag, meta byte, packet identifier (big endian), data length
//! (big endian `u32`) — followed by its data. Records stay in the order they were appended,
//! which is the order in-flight messages must be re-sent in ([MQTT-4.6.0-1]). Removing a
//! record moves the ones after it down; sessions hold a handful of records, so the copy is
//! cheaper than any index structure would be in RAM.

/// Bytes of bookkeeping per record.
pub(crate) const HEADER: usize = 8;

/// What a record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    /// An outgoing QoS 1 or 2 PUBLISH not yet acknowledged; data is the encoded frame,
    /// meta is the QoS.
    OutPublish = 1,
    /// An outgoing QoS 2 message whose PUBREC came: waiting for PUBCOMP. No data.
    OutPubrel = 2,
    /// An incoming QoS 2 message acknowledged with PUBREC: waiting for PUBREL. No data.
    InQos2 = 3,
    /// A subscription; data is the filter, meta holds the QoS and the confirmed bit, the
    /// packet identifier is that of the SUBSCRIBE awaiting its SUBACK (0 if none).
    Subscription = 4,
    /// An UNSUBSCRIBE awaiting its UNSUBACK; data is the filter.
    Unsubscribe = 5,
}

impl Tag {
    fn from_u8(b: u8) -> Option<Tag> {
        Some(match b {
            1 => Tag::OutPublish,
            2 => Tag::OutPubrel,
            3 => Tag::InQos2,
            4 => Tag::Subscription,
            5 => Tag::Unsubscribe,
            _ => return None,
        })
    }
}

/// A record read out of the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub offset: usize,
    pub tag: Tag,
    pub meta: u8,
    pub pid: u16,
    pub data: &'a [u8],
}

impl Record<'_> {
    pub fn end(&self) -> usize {
        self.offset + HEADER + self.data.len()
    }
}

/// The store is full: `needed` more bytes were asked for, `free` are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full {
    pub needed: usize,
    pub free: usize,
}

pub(crate) struct Records<'s> {
    buf: &'s mut [u8],
    used: usize,
}

impl<'s> Records<'s> {
    pub fn new(buf: &'s mut [u8]) -> Self {
        Records { buf, used: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub fn used(&self) -> usize {
        self.used
    }

    /// Reads the record at `offset`; `None` past the end (or, defensively, on a header
    /// that does not fit, which only a bug here could produce).
    pub fn get(&self, offset: usize) -> Option<Record<'_>> {
        if offset >= self.used {
            return None;
        }
        let h = self.buf.get(offset..offset + HEADER)?;
        let tag = Tag::from_u8(h[0])?;
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let data = self.buf.get(offset + HEADER..offset + HEADER + len)?;
        if offset + HEADER + len > self.used {
            return None;
        }
        Some(Record {
            offset,
            tag,
            meta: h[1],
            pid: u16::from_be_bytes([h[2], h[3]]),
            data,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        let mut offset = 0;
        core::iter::from_fn(move || {
            let r = self.get(offset)?;
            offset = r.end();
            Some(r)
        })
    }

    pub fn find(&self, mut pred: impl FnMut(&Record<'_>) -> bool) -> Option<Record<'_>> {
        self.iter().find(|r| pred(r))
    }

    /// Appends a record with `len` bytes of data written by `fill`. On any failure the store
    /// is left as it was.
    pub fn append<E>(
        &mut self,
        tag: Tag,
        meta: u8,
        pid: u16,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Result<usize, E>, Full> {
        let free = self.buf.len() - self.used;
        let needed = HEADER + len;
        if needed > free || u32::try_from(len).is_err() {
            return Err(Full { needed, free });
        }
        let offset = self.used;
        let rec = &mut self.buf[offset..offset + needed];
        rec[0] = tag as u8;
        rec[1] = meta;
        rec[2..4].copy_from_slice(&pid.to_be_bytes());
        rec[4..8].copy_from_slice(&(len as u32).to_be_bytes());
        match fill(&mut rec[HEADER..]) {
            Ok(()) => {
                self.used += needed;
                Ok(Ok(offset))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Removes the record at `offset`, moving later records down.
    pub fn remove(&mut self, offset: usize) {
        if let Some(end) = self.get(offset).map(|r| r.end()) {
            self.buf.copy_within(end..self.used, offset);
            self.used -= end - offset;
        }
    }

    /// Drops the data of the record at `offset` and gives it a new tag, keeping its place.
    pub fn retag_without_data(&mut self, offset: usize, tag: Tag) {
        if let Some(r) = self.get(offset) {
            let data_start = offset + HEADER;
            let end = r.end();
            self.buf.copy_within(end..self.used, data_start);
            self.used -= end - data_start;
            self.buf[offset] = tag as u8;
            self.buf[offset + 4..offset + 8].copy_from_slice(&0u32.to_be_bytes());
        }
    }

    pub fn set_meta(&mut self, offset: usize, meta: u8) {
        if offset + HEADER <= self.used {
            self.buf[offset + 1] = meta;
        }
    }

    pub fn set_pid(&mut self, offset: usize, pid: u16) {
        if offset + HEADER <= self.used {
            self.buf[offset + 2..offset + 4].copy_from_slice(&pid.to_be_bytes());
        }
    }

    /// Mutable access to the data of the record at `offset`.
    pub fn data_mut(&mut self, offset: usize) -> Option<&mut [u8]> {
        let r = self.get(offset)?;
        let range = offset + HEADER..r.end();
        self.buf.get_mut(range)
    }

    /// Removes every record for which `pred` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Record<'_>) -> bool) {
        let mut offset = 0;
        while let Some(r) = self.get(offset) {
            if keep(&r) {
                offset = r.end();
            } else {
                self.remove(offset);
            }
        }
    }

    pub fn clear(&mut self) {
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Records<'_>, tag: Tag, pid: u16, data: &[u8]) -> usize {
        s.append(tag, 0, pid, data.len(), |d| {
            d.copy_from_slice(data);
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn records_keep_their_order_through_removal_and_retagging() {
        let mut buf = [0u8; 64];
        let mut s = Records::new(&mut buf);
        let a = add(&mut s, Tag::OutPublish, 1, b"aaaa");
        add(&mut s, Tag::OutPublish, 2, b"bb");
        add(&mut s, Tag::Subscription, 0, b"c/#");
        s.retag_without_data(a, Tag::OutPubrel);
        let tags: std::vec::Vec<_> = s.iter().map(|r| (r.tag, r.pid, r.data.len())).collect();
        assert_eq!(
            tags,
            [
                (Tag::OutPubrel, 1, 0),
                (Tag::OutPublish, 2, 2),
                (Tag::Subscription, 0, 3)
            ]
        );
        let b = s.find(|r| r.pid == 2).unwrap().offset;
        s.remove(b);
        assert_eq!(s.iter().count(), 2);
        assert_eq!(s.used(), 8 + 8 + 3);
        assert_eq!(s.iter().nth(1).unwrap().data, b"c/#");
    }

    #[test]
    fn a_full_store_refuses_and_stays_unchanged() {
        let mut buf = [0u8; 20];
        let mut s = Records::new(&mut buf);
        add(&mut s, Tag::InQos2, 5, b"");
        let r = s.append(Tag::OutPublish, 1, 6, 13, |_| Ok::<(), ()>(()));
        assert_eq!(
            r,
            Err(Full {
                needed: 21,
                free: 12
            })
        );
        let r = s.append(Tag::OutPublish, 1, 6, 2, |_| Err::<(), _>("fill failed"));
        assert_eq!(r, Ok(Err("fill failed")));
        assert_eq!(s.used(), 8);
    }
}
