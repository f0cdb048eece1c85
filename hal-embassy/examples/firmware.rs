//! Example firmware: a Cortex-M3 (STM32F103RE, 64 KiB RAM) with a WIZnet W5500 Ethernet
//! module on SPI1, as an Aliyun IoT Platform device over embassy-net.
//!
//! ```text
//! cargo build -p hal-embassy --target thumbv7m-none-eabi --example firmware --release
//! ```
//!
//! Wiring: SPI1 SCK PA5, MISO PA6, MOSI PA7, chip select PA4, W5500 interrupt PB0 (EXTI0),
//! W5500 reset PB1. The address comes from DHCP, the broker's address from the DNS server
//! DHCP names.
//!
//! On the host (`cargo test --workspace` builds every example) it only says how to build
//! it: the firmware itself exists for `target_os = "none"`.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    println!(
        "hal-embassy's example firmware is for a Cortex-M3: \
         cargo build -p hal-embassy --target thumbv7m-none-eabi --example firmware"
    );
}

#[cfg(target_os = "none")]
mod firmware {
    use core::panic::PanicInfo;

    use embassy_executor::Spawner;
    use embassy_futures::select::{Either, select};
    use embassy_net::{Config, Stack, StackResources};
    use embassy_net_wiznet::chip::W5500;
    use embassy_net_wiznet::{Device as Ethernet, Runner as EthernetRunner, State};
    use embassy_stm32::exti::{self, ExtiInput};
    use embassy_stm32::gpio::{Level, Output, Pull, Speed};
    use embassy_stm32::mode::Async;
    use embassy_stm32::peripherals::{DMA1_CH2, DMA1_CH3};
    use embassy_stm32::spi::{self, Spi};
    use embassy_stm32::time::Hertz;
    use embassy_stm32::{bind_interrupts, dma, interrupt};
    use embassy_time::{Delay, Duration, Instant, Timer};
    use embedded_hal_bus::spi::ExclusiveDevice;
    use hal_embassy::{EmbassyClock, EmbassyPlatform, NetTransport, WallClock};
    use iotcloud_aliyun::Aliyun;
    use iotcloud_core::memory::{MemoryArrays, Rx, SessionBytes, Tx};
    use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
    use iotcloud_core::{Device, Event, QoS, ReconnectPolicy, Supervised};
    use static_cell::StaticCell;

    bind_interrupts!(struct Irqs {
        DMA1_CHANNEL2 => dma::InterruptHandler<DMA1_CH2>;
        DMA1_CHANNEL3 => dma::InterruptHandler<DMA1_CH3>;
        EXTI0 => exti::InterruptHandler<interrupt::typelevel::EXTI0>;
    });

    type EthernetSpi =
        ExclusiveDevice<Spi<'static, Async, spi::mode::Master>, Output<'static>, Delay>;

    /// The Unix time, set by whichever task learns it (an SNTP client, an RTC read at boot);
    /// the device reads it through its clock and signs with it.
    static WALL: WallClock = WallClock::new();
    /// DHCP, DNS and the device's TCP socket.
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    /// Two frames each way in the W5500 driver's queues.
    static ETHERNET: StaticCell<State<2, 2>> = StaticCell::new();
    /// The device's messages: the largest message it receives fits in `Rx`.
    static MEMORY: StaticCell<MemoryArrays<Rx<2048>, Tx<1024>, SessionBytes<2048>>> =
        StaticCell::new();
    static SOCKET_RX: StaticCell<[u8; 1536]> = StaticCell::new();
    static SOCKET_TX: StaticCell<[u8; 1024]> = StaticCell::new();

    // The cloud's credentials; in a product they come from flash, never from the source.
    const PRODUCT_KEY: &str = "a1B2C3D4E5F";
    const DEVICE_NAME: &str = "device-0001";
    const DEVICE_SECRET: &str = "0123456789abcdef0123456789abcdef";
    const REPORT_EVERY: Duration = Duration::from_secs(60);

    #[embassy_executor::task]
    async fn ethernet_task(
        runner: EthernetRunner<
            'static,
            W5500,
            EthernetSpi,
            ExtiInput<'static, Async>,
            Output<'static>,
        >,
    ) -> ! {
        runner.run().await
    }

    #[embassy_executor::task]
    async fn net_task(mut runner: embassy_net::Runner<'static, Ethernet<'static>>) -> ! {
        runner.run().await
    }

    #[embassy_executor::main]
    async fn main(spawner: Spawner) {
        let p = embassy_stm32::init(Default::default());

        let mut spi_config = spi::Config::default();
        spi_config.frequency = Hertz(18_000_000);
        let spi = Spi::new(
            p.SPI1, p.PA5, p.PA7, p.PA6, p.DMA1_CH3, p.DMA1_CH2, Irqs, spi_config,
        );
        let chip_select = Output::new(p.PA4, Level::High, Speed::VeryHigh);
        let Ok(spi) = ExclusiveDevice::new(spi, chip_select, Delay);
        let interrupt = ExtiInput::new(p.PB0, p.EXTI0, Pull::Up, Irqs);
        let reset = Output::new(p.PB1, Level::High, Speed::Low);

        // The F103 has no random number generator. Its unique id makes every device's seed
        // differ, and the device mixes in the clock on every connect; a part with an RNG
        // passes a value from it here instead.
        let seed = embassy_stm32::uid::uid()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        let mac = [
            0x02,
            0x00,
            seed as u8,
            (seed >> 8) as u8,
            (seed >> 16) as u8,
            (seed >> 24) as u8,
        ];

        let Ok((ethernet, ethernet_runner)) =
            embassy_net_wiznet::new(mac, ETHERNET.init(State::new()), spi, interrupt, reset).await
        else {
            return;
        };
        let Ok(ethernet_task) = ethernet_task(ethernet_runner) else {
            return;
        };
        spawner.spawn(ethernet_task);

        let (stack, runner) = embassy_net::new(
            ethernet,
            Config::dhcpv4(Default::default()),
            RESOURCES.init(StackResources::new()),
            seed,
        );
        let Ok(net_task) = net_task(runner) else {
            return;
        };
        spawner.spawn(net_task);
        stack.wait_config_up().await;

        run_device(stack, seed).await;
    }

    /// The device itself: a supervisor keeps it connected, and every minute it publishes.
    async fn run_device(stack: Stack<'static>, seed: u64) {
        // Aliyun's plain-TCP endpoint (port 1883): this transport has no TLS, and asking
        // it for TLS fails rather than falling back.
        let plain = EndpointOverrides {
            tls: TlsChoice::Off,
            ..EndpointOverrides::default()
        };
        let Ok(aliyun) = Aliyun::with_secret(PRODUCT_KEY, DEVICE_NAME, DEVICE_SECRET) else {
            return;
        };
        let aliyun = aliyun.with_overrides(plain);
        let transport =
            NetTransport::new(stack, SOCKET_RX.init([0; 1536]), SOCKET_TX.init([0; 1024]));
        let platform = EmbassyPlatform::new(transport, EmbassyClock::new(&WALL), seed);
        let device = Device::new(&aliyun, platform, MEMORY.init(MemoryArrays::new()).memory());
        let Ok(device) = device.register().await else {
            return;
        };
        let mut device = device.supervise(ReconnectPolicy::default());
        let mut topic = [0u8; 96];
        let Ok(topic) = aliyun.user_update().write_into(&mut topic) else {
            return;
        };
        // The supervisor connects on the first call to `next_event`, and again after every
        // loss, with backoff. Waiting for an event can be dropped at any await without losing
        // a byte, so the loop also wakes up to report.
        let mut report_at = Instant::now() + REPORT_EVERY;
        loop {
            match select(device.next_event(), Timer::at(report_at)).await {
                Either::First(Ok(Supervised::Event(Event::Message(message)))) => {
                    // The cloud's message: act on `message.topic()` and `message.payload()`.
                    let _ = message;
                }
                // Connection attempts, acknowledgements: the supervisor has dealt with them.
                Either::First(_) => {}
                Either::Second(()) => {
                    report_at += REPORT_EVERY;
                    // Queued in the session while the link is down, sent once it is up.
                    let _ = device
                        .publish(topic, br#"{"temp":21.5}"#, QoS::AtLeastOnce)
                        .await;
                }
            }
        }
    }

    /// A panic restarts the board: a device in the field must come back by itself.
    #[panic_handler]
    fn panic(_: &PanicInfo) -> ! {
        cortex_m::peripheral::SCB::sys_reset()
    }
}
