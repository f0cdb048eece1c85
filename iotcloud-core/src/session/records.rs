//! The session's memory: variable-length records packed into one caller-owned byte slice.
//!
//! A record is an 8-byte header — tag, meta byte, packet identifier (big endian), data length
//! (big endian `u32`) — followed by its data. Records stay in the order they were appended,
//! which is the order in-flight messages must be re-sent in ([MQTT-4.6.0-1]). Removing a
//! record moves the ones after it down; sessions hold a handful of records, so the copy is
//! cheaper than any index structure would be in RAM. Removing the first record — the
//! oldest message, which is what an acknowledgement usually removes — moves nothing: the
//! records start further on, and are moved back to the beginning only when an append
//! needs the room.
//!
//! Offsets count from the first record, so removing a record shifts the offsets of the
//! later ones down by its size, whichever record it is.

use crate::bytes::shift_down;

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
    /// Where the first record is in `buf`.
    start: usize,
    /// Bytes of records, from `start` on.
    used: usize,
}

impl<'s> Records<'s> {
    pub fn new(buf: &'s mut [u8]) -> Self {
        Records {
            buf,
            start: 0,
            used: 0,
        }
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
        let live = self.buf.get(self.start..self.start + self.used)?;
        let (&[tag, meta, p0, p1, l0, l1, l2, l3], rest) =
            live.get(offset..)?.split_first_chunk::<HEADER>()?;
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        Some(Record {
            offset,
            tag: Tag::from_u8(tag)?,
            meta,
            pid: u16::from_be_bytes([p0, p1]),
            data: rest.get(..len)?,
        })
    }

    /// The header of the record at `offset`, if it is one.
    fn header_mut(&mut self, offset: usize) -> Option<&mut [u8; HEADER]> {
        if offset + HEADER > self.used {
            return None;
        }
        self.buf.get_mut(self.start + offset..)?.first_chunk_mut()
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
        let (offset, data) = self.reserve(tag, meta, pid, len)?;
        match fill(data) {
            Ok(()) => {
                self.used += HEADER + len;
                Ok(Ok(offset))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Writes the header of a record with `len` bytes of data behind the last record,
    /// without counting it yet: its offset, and its data to fill. Not inlined: every
    /// [`Records::append`] shares it.
    #[inline(never)]
    fn reserve(
        &mut self,
        tag: Tag,
        meta: u8,
        pid: u16,
        len: usize,
    ) -> Result<(usize, &mut [u8]), Full> {
        let free = self.buf.len() - self.used;
        let needed = HEADER + len;
        if needed > free || u32::try_from(len).is_err() {
            return Err(Full { needed, free });
        }
        if self.start + self.used + needed > self.buf.len() {
            shift_down(self.buf, self.start..self.start + self.used, 0);
            self.start = 0;
        }
        let offset = self.used;
        let at = self.start + offset;
        let [p0, p1] = pid.to_be_bytes();
        let [l0, l1, l2, l3] = (len as u32).to_be_bytes();
        // The room was checked above; a failure here cannot happen and is refused as full
        // rather than panicking.
        let Some((head, data)) = self
            .buf
            .get_mut(at..at + needed)
            .and_then(|rec| rec.split_first_chunk_mut::<HEADER>())
        else {
            return Err(Full { needed, free });
        };
        *head = [tag as u8, meta, p0, p1, l0, l1, l2, l3];
        Ok((offset, data))
    }

    /// Removes the record at `offset`, moving later records down (the first record is
    /// removed by starting after it).
    pub fn remove(&mut self, offset: usize) {
        let Some(end) = self.get(offset).map(|r| r.end()) else {
            return;
        };
        if offset == 0 {
            self.start += end;
        } else {
            let at = self.start;
            shift_down(self.buf, at + end..at + self.used, at + offset);
        }
        self.used -= end - offset;
        if self.used == 0 {
            self.start = 0;
        }
    }

    /// Drops the data of the record at `offset` and gives it a new tag, keeping its place.
    pub fn retag_without_data(&mut self, offset: usize, tag: Tag) {
        if let Some(r) = self.get(offset) {
            let at = self.start;
            let data_start = offset + HEADER;
            let end = r.end();
            shift_down(self.buf, at + end..at + self.used, at + data_start);
            self.used -= end - data_start;
            if let Some([t, _, _, _, l0, l1, l2, l3]) = self.header_mut(offset) {
                *t = tag as u8;
                [*l0, *l1, *l2, *l3] = 0u32.to_be_bytes();
            }
        }
    }

    pub fn set_meta(&mut self, offset: usize, meta: u8) {
        if let Some(h) = self.header_mut(offset) {
            h[1] = meta;
        }
    }

    pub fn set_pid(&mut self, offset: usize, pid: u16) {
        if let Some([_, _, p0, p1, ..]) = self.header_mut(offset) {
            [*p0, *p1] = pid.to_be_bytes();
        }
    }

    /// Mutable access to the data of the record at `offset`.
    pub fn data_mut(&mut self, offset: usize) -> Option<&mut [u8]> {
        let r = self.get(offset)?;
        let range = self.start + offset + HEADER..self.start + r.end();
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
        self.start = 0;
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
    fn removing_the_first_record_moves_nothing_and_appends_reuse_the_room() {
        let mut buf = [0u8; 48];
        let mut s = Records::new(&mut buf);
        let a = add(&mut s, Tag::OutPublish, 1, b"aaaa");
        add(&mut s, Tag::OutPublish, 2, b"bbbb");
        add(&mut s, Tag::OutPublish, 3, b"cccc");
        assert_eq!(s.used(), 36);
        s.remove(a);
        assert_eq!((s.start, s.used()), (12, 24));
        // Offsets count from the first record: the old second one is now at 0.
        let first = s.get(0).unwrap();
        assert_eq!((first.pid, first.data), (2, &b"bbbb"[..]));
        // 24 bytes are free in total but only 12 at the end: the records move back.
        add(&mut s, Tag::OutPublish, 4, b"dddddddddddd");
        assert_eq!((s.start, s.used()), (0, 44));
        let all: std::vec::Vec<_> = s.iter().map(|r| (r.offset, r.pid, r.data)).collect();
        assert_eq!(
            all,
            [
                (0, 2, &b"bbbb"[..]),
                (12, 3, &b"cccc"[..]),
                (24, 4, &b"dddddddddddd"[..])
            ]
        );
        s.set_pid(12, 9);
        s.set_meta(12, 7);
        s.data_mut(12).unwrap().copy_from_slice(b"CCCC");
        let r = s.get(12).unwrap();
        assert_eq!((r.pid, r.meta, r.data), (9, 7, &b"CCCC"[..]));
        s.remove(0);
        s.remove(0);
        s.remove(0);
        assert_eq!((s.start, s.used(), s.iter().count()), (0, 0, 0));
    }

    /// Random appends, removals, retags and pid changes give the same records as a plain
    /// list, whatever the start offset has become.
    #[test]
    fn records_match_a_plain_list_through_random_changes() {
        type Model = std::vec::Vec<(Tag, u16, std::vec::Vec<u8>)>;
        let mut buf = [0u8; 200];
        let mut s = Records::new(&mut buf);
        let mut model: Model = std::vec::Vec::new();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n) as usize
        };
        for step in 0..20_000u32 {
            let offset_of = |s: &Records<'_>, i: usize| s.iter().nth(i).unwrap().offset;
            match next(4) {
                0 | 1 => {
                    let len = next(24);
                    let data: std::vec::Vec<u8> =
                        (0..len).map(|i| (step as usize + i) as u8).collect();
                    let pid = step as u16;
                    let free = s.capacity() - s.used();
                    match s.append(Tag::OutPublish, 1, pid, len, |d| {
                        d.copy_from_slice(&data);
                        Ok::<(), ()>(())
                    }) {
                        Ok(Ok(_)) => model.push((Tag::OutPublish, pid, data)),
                        Err(full) => assert_eq!(
                            full,
                            Full {
                                needed: HEADER + len,
                                free
                            }
                        ),
                        Ok(Err(())) => unreachable!(),
                    }
                }
                2 if !model.is_empty() => {
                    // Mostly the oldest, as acknowledgements do.
                    let i = if next(3) == 0 {
                        next(model.len() as u64)
                    } else {
                        0
                    };
                    let at = offset_of(&s, i);
                    s.remove(at);
                    model.remove(i);
                }
                3 if !model.is_empty() => {
                    let i = next(model.len() as u64);
                    let at = offset_of(&s, i);
                    if next(2) == 0 {
                        s.retag_without_data(at, Tag::OutPubrel);
                        model[i].0 = Tag::OutPubrel;
                        model[i].2.clear();
                    } else {
                        s.set_pid(at, 7);
                        model[i].1 = 7;
                    }
                }
                _ => {}
            }
            let got: Model = s.iter().map(|r| (r.tag, r.pid, r.data.to_vec())).collect();
            assert_eq!(got, model, "after step {step}");
            let bytes: usize = model.iter().map(|(_, _, d)| HEADER + d.len()).sum();
            assert_eq!(s.used(), bytes);
        }
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
