//! The memory a device works in, owned by the caller: one struct of named slices, and
//! arrays to back them whose sizes are named in their types.

/// The memory a device works in, owned by the caller. Name the slices it needs and leave
/// the rest to `..Memory::default()` (empty):
///
/// ```
/// use iotcloud_core::Memory;
/// let (mut rx, mut tx, mut session) = ([0u8; 2048], [0u8; 512], [0u8; 2048]);
/// let memory = Memory { rx: &mut rx, tx: &mut tx, session: &mut session, ..Memory::default() };
/// # let _ = memory;
/// ```
///
/// - `rx` holds one incoming packet (and, while connecting, the signed credentials): size
///   it for the largest message expected plus its topic, and at least 1 KiB.
/// - `tx` collects outgoing packets until they are written to the transport: CONNECT,
///   acknowledgements, and the messages published, which go out together when it fills,
///   when the device waits for the broker, or on `flush`. A QoS 0 message larger than it
///   is written straight from the caller's memory.
/// - `session` holds every QoS 1/2 message until it is acknowledged (its encoded size plus
///   8 bytes) and every subscription (filter length plus 8 bytes): it is the offline queue.
/// - `credentials` (feature `registration`) holds what dynamic registration obtained:
///   256 bytes for a secret, 4 KiB for Tencent's certificate and key. Only a configuration
///   that registers needs it.
/// - `ota_job` (feature `ota`) holds the current upgrade job: its URL and token plus about
///   100 bytes, 512 bytes for most clouds. Only a device with OTA enabled needs it.
#[derive(Default)]
pub struct Memory<'b> {
    /// Receive buffer.
    pub rx: &'b mut [u8],
    /// Transmit buffer.
    pub tx: &'b mut [u8],
    /// Session memory.
    pub session: &'b mut [u8],
    /// Registration record memory.
    #[cfg(feature = "registration")]
    pub credentials: &'b mut [u8],
    /// OTA job memory.
    #[cfg(feature = "ota")]
    pub ota_job: &'b mut [u8],
}

macro_rules! sized_buffer {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<const N: usize>([u8; N]);

        impl<const N: usize> $name<N> {
            /// Zeroed.
            pub const fn new() -> Self {
                $name([0; N])
            }
        }

        impl<const N: usize> Default for $name<N> {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

sized_buffer!(
    /// `N` bytes of receive buffer, for [`MemoryArrays`].
    Rx
);
sized_buffer!(
    /// `N` bytes of transmit buffer, for [`MemoryArrays`].
    Tx
);
sized_buffer!(
    /// `N` bytes of session memory, for [`MemoryArrays`].
    SessionBytes
);
sized_buffer!(
    /// `N` bytes of registration record memory, for [`MemoryArrays`].
    CredentialBytes
);
sized_buffer!(
    /// `N` bytes of OTA job memory, for [`MemoryArrays`].
    JobBytes
);

/// Arrays behind a [`Memory`], for a `static` or a stack frame, each size named by its
/// type: `MemoryArrays<Rx<4096>, Tx<1024>, SessionBytes<8192>>`, and with
/// `CredentialBytes<N>` and `JobBytes<N>` after them where registration or OTA need memory.
///
/// ```
/// use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
/// let mut arrays = MemoryArrays::<Rx<2048>, Tx<512>, SessionBytes<2048>>::new();
/// let memory = arrays.memory();
/// assert_eq!((memory.rx.len(), memory.tx.len(), memory.session.len()), (2048, 512, 2048));
/// ```
pub struct MemoryArrays<R, T, S, C = CredentialBytes<0>, J = JobBytes<0>> {
    rx: R,
    tx: T,
    session: S,
    credentials: C,
    ota_job: J,
}

impl<const RX: usize, const TX: usize, const S: usize, const C: usize, const J: usize>
    MemoryArrays<Rx<RX>, Tx<TX>, SessionBytes<S>, CredentialBytes<C>, JobBytes<J>>
{
    /// Zeroed arrays.
    pub const fn new() -> Self {
        MemoryArrays {
            rx: Rx::new(),
            tx: Tx::new(),
            session: SessionBytes::new(),
            credentials: CredentialBytes::new(),
            ota_job: JobBytes::new(),
        }
    }

    /// The arrays as a [`Memory`]. Credential and job bytes are left out when the feature
    /// that uses them is off.
    pub fn memory(&mut self) -> Memory<'_> {
        #[cfg(not(feature = "registration"))]
        let _ = &self.credentials;
        #[cfg(not(feature = "ota"))]
        let _ = &self.ota_job;
        Memory {
            rx: &mut self.rx.0,
            tx: &mut self.tx.0,
            session: &mut self.session.0,
            #[cfg(feature = "registration")]
            credentials: &mut self.credentials.0,
            #[cfg(feature = "ota")]
            ota_job: &mut self.ota_job.0,
        }
    }
}

impl<const RX: usize, const TX: usize, const S: usize, const C: usize, const J: usize> Default
    for MemoryArrays<Rx<RX>, Tx<TX>, SessionBytes<S>, CredentialBytes<C>, JobBytes<J>>
{
    fn default() -> Self {
        Self::new()
    }
}
