//! The whole emulator in one value: the registration server, one MQTT listener per cloud,
//! the firmware server, and the control operations (commands, OTA jobs, what was
//! published), also served as HTTP/JSON by [`CloudEmulator::serve_control`].

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use md5::Digest as _;
use serde_json::{Value, json};

use crate::acceptor::Acceptor;
use crate::broker::{
    AcceptedLogin, DeliveryError, HubShared, Listener, LogFn, Published, RefusedLogin, Violation,
};
use crate::encoding::hex;
use crate::file_download::{BlockFault, BlockRequest, Stream};
use crate::http::{ReadError, Recorded, Response, read_request};
use crate::login::Identity;
use crate::onenet::{OtaApiEvent, OtaTask};
use crate::thing::{self, DataAnswer, DataRequest};
use crate::topics::{self, OtaOffer, OtaReport};
use crate::{Accounts, Cloud, Emulator, FirmwareServer};

/// Everything the control operations need, shared with the control server's threads.
struct Inner {
    hub: Arc<HubShared>,
    /// OneNET's OTA tasks, served by its HTTP OTA API on the firmware server.
    onenet_tasks: Arc<Mutex<Vec<OtaTask>>>,
    firmware: FirmwareServer,
    ports: Vec<(Cloud, u16)>,
    registration_url: String,
    serial: AtomicU64,
}

/// A running emulator of the clouds on `127.0.0.1`, stopped when dropped.
pub struct CloudEmulator {
    inner: Arc<Inner>,
    // Dropped after the listeners, which read its state.
    listeners: Vec<Listener>,
    registration: Emulator,
    /// The control server, once started.
    control: Option<Acceptor>,
}

impl std::fmt::Debug for CloudEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudEmulator")
            .field("mqtt", &self.inner.ports)
            .field("registration", &self.inner.registration_url)
            .finish_non_exhaustive()
    }
}

impl CloudEmulator {
    /// Starts emulating `clouds` (an MQTT port each) with what `accounts` declare.
    ///
    /// # Errors
    /// The I/O error of binding a loopback listener or starting a thread.
    pub fn start(accounts: Accounts, clouds: &[Cloud]) -> io::Result<CloudEmulator> {
        Self::start_inner(accounts, clouds, None)
    }

    /// As [`CloudEmulator::start`], calling `log` with a line for every connection,
    /// refusal, message and delivery.
    ///
    /// # Errors
    /// As [`CloudEmulator::start`].
    pub fn start_logged(
        accounts: Accounts,
        clouds: &[Cloud],
        log: impl Fn(&str) + Send + Sync + 'static,
    ) -> io::Result<CloudEmulator> {
        Self::start_inner(accounts, clouds, Some(Arc::new(log)))
    }

    fn start_inner(
        accounts: Accounts,
        clouds: &[Cloud],
        log: Option<LogFn>,
    ) -> io::Result<CloudEmulator> {
        let registration = Emulator::try_start(accounts)?;
        let hub = Arc::new(HubShared::new(registration.shared(), log));
        let mut listeners = Vec::new();
        let mut ports = Vec::new();
        for &cloud in clouds {
            if ports.iter().any(|(c, _)| *c == cloud) {
                continue;
            }
            let l = Listener::start(cloud, Arc::clone(&hub))?;
            ports.push((cloud, l.port()));
            listeners.push(l);
        }
        let firmware = FirmwareServer::start()?;
        let onenet_tasks = Arc::new(Mutex::new(Vec::new()));
        firmware.set_api({
            let (hub, tasks) = (Arc::clone(&hub), Arc::clone(&onenet_tasks));
            Arc::new(move |req| {
                crate::onenet::ota_api(req, &hub.cloud, &tasks, |pid, dn, event| {
                    let report = match event {
                        OtaApiEvent::Version(v) => OtaReport::Version(v),
                        OtaApiEvent::Step(s @ 0..=100) => OtaReport::Progress(s as u8),
                        OtaApiEvent::Step(101) => OtaReport::Installing,
                        OtaApiEvent::Step(201) => OtaReport::Done,
                        OtaApiEvent::Step(s) => OtaReport::Failed(format!("step {s}")),
                    };
                    let who = Identity {
                        cloud: Cloud::OneNet,
                        product: pid.to_owned(),
                        device: dn.to_owned(),
                    };
                    hub.lock().reports.push((who, report));
                })
            })
        });
        Ok(CloudEmulator {
            inner: Arc::new(Inner {
                hub,
                onenet_tasks,
                firmware,
                ports,
                registration_url: registration.url(),
                serial: AtomicU64::new(0),
            }),
            listeners,
            registration,
            control: None,
        })
    }

    /// The MQTT port of `cloud`, if it is emulated.
    pub fn mqtt_port(&self, cloud: Cloud) -> Option<u16> {
        self.inner.port(cloud)
    }

    /// The clouds emulated and their MQTT ports.
    pub fn mqtt_ports(&self) -> &[(Cloud, u16)] {
        &self.inner.ports
    }

    /// The registration server (`http://127.0.0.1:PORT`): Tencent, Aliyun (HTTPS flavour),
    /// OneNET and Huawei registration endpoints.
    pub fn registration(&self) -> &Emulator {
        &self.registration
    }

    /// The firmware download server OTA jobs point at.
    pub fn firmware(&self) -> &FirmwareServer {
        &self.inner.firmware
    }

    /// A snapshot of the clouds' state.
    pub fn accounts(&self) -> Accounts {
        self.registration.accounts()
    }

    /// Runs `change` on the live state, e.g. to add a device or move the clock.
    pub fn with_accounts<R>(&self, change: impl FnOnce(&mut Accounts) -> R) -> R {
        self.registration.with_accounts(change)
    }

    /// Sets the server clock to `now` unix seconds (`None`: the system clock), for the
    /// clouds' timestamp windows.
    pub fn set_now(&self, now: Option<u64>) {
        self.registration.set_now(now);
    }

    /// The connected devices.
    pub fn online(&self) -> Vec<Identity> {
        self.inner.hub.online()
    }

    /// Every message devices published, oldest first.
    pub fn published(&self) -> Vec<Published> {
        self.inner.hub.lock().published.clone()
    }

    /// Every version and progress report devices sent, oldest first.
    pub fn ota_reports(&self) -> Vec<(Identity, OtaReport)> {
        self.inner.hub.lock().reports.clone()
    }

    /// Every accepted CONNECT, oldest first.
    pub fn logins(&self) -> Vec<AcceptedLogin> {
        self.inner.hub.lock().logins.clone()
    }

    /// Every refused CONNECT, oldest first.
    pub fn refused(&self) -> Vec<RefusedLogin> {
        self.inner.hub.lock().refused.clone()
    }

    /// Every publish or subscribe refused because the topic was not the device's.
    pub fn violations(&self) -> Vec<Violation> {
        self.inner.hub.lock().violations.clone()
    }

    /// Sends a command to the connected device `device` of `cloud`: on `topic`, or on the
    /// cloud's command downlink. Returns the topic used.
    ///
    /// # Errors
    /// The device is not connected, not subscribed to the topic, or the topic is not its.
    pub fn command(
        &self,
        cloud: Cloud,
        device: &str,
        payload: &[u8],
        topic: Option<&str>,
    ) -> Result<String, DeliveryError> {
        self.inner.command(cloud, device, payload, topic)
    }

    /// Sends the connected device `device` of `cloud` a property set of `values` (a JSON
    /// object) in its cloud's thing-model format; the device's answer is checked against it
    /// ([`CloudEmulator::data_answers`]).
    ///
    /// # Errors
    /// The cloud has no thing model, `values` is not an object, or delivery failed.
    pub fn set_properties(
        &self,
        cloud: Cloud,
        device: &str,
        values: &Value,
    ) -> Result<DataRequest, DeliveryError> {
        self.inner.data_request(cloud, device, |who, serial| {
            thing::property_set(who, serial, values)
        })
    }

    /// Sends the connected device a command `name` with `params` (a JSON object) in its
    /// cloud's format (Aliyun service, Tencent action, OneNET service, Huawei command on
    /// service [`HUAWEI_SERVICE`](crate::HUAWEI_SERVICE), TuyaLink action).
    ///
    /// # Errors
    /// As [`CloudEmulator::set_properties`].
    pub fn invoke(
        &self,
        cloud: Cloud,
        device: &str,
        name: &str,
        params: &Value,
    ) -> Result<DataRequest, DeliveryError> {
        self.inner.data_request(cloud, device, |who, serial| {
            thing::command(who, serial, name, params)
        })
    }

    /// Keeps `values` (a JSON object of name → value) as the desired values of `device`,
    /// which the cloud answers desired-value fetches with.
    pub fn set_desired(&self, cloud: Cloud, device: &str, values: serde_json::Map<String, Value>) {
        let mut hub = self.inner.hub.lock();
        hub.desired
            .retain(|((c, d), _)| !(*c == cloud && d == device));
        hub.desired.push(((cloud, device.to_owned()), values));
    }

    /// Every answer devices gave to property sets and commands, oldest first, each with
    /// the request it answers (none: a wrong id or topic).
    pub fn data_answers(&self) -> Vec<DataAnswer> {
        self.inner.hub.lock().answers.clone()
    }

    /// Property sets and commands still waiting for their answer.
    pub fn unanswered(&self) -> Vec<DataRequest> {
        self.inner.hub.lock().waiting.clone()
    }

    /// Serves `image` on the firmware server and sends the device an OTA job for it in its
    /// cloud's format. OneNET's is a task of its HTTP OTA API, announced on `ota/inform`.
    ///
    /// # Errors
    /// The cloud has no OTA (Baidu, Tlink), or the notice could not be delivered.
    pub fn offer_ota(
        &self,
        cloud: Cloud,
        device: &str,
        version: &str,
        image: Vec<u8>,
    ) -> Result<OtaOffer, DeliveryError> {
        self.inner.offer_ota(cloud, device, version, image)
    }

    /// Sends the device an OTA job whose image is delivered over MQTT, in blocks it asks
    /// for on its own connection (Aliyun's file download, for `"dProtocol":"mqtt"`), and
    /// answers its block requests from `image` with binary replies.
    ///
    /// # Errors
    /// The cloud has no such delivery (all but Aliyun), or the notice could not be
    /// delivered.
    pub fn offer_ota_over_mqtt(
        &self,
        cloud: Cloud,
        device: &str,
        version: &str,
        image: Vec<u8>,
    ) -> Result<OtaOffer, DeliveryError> {
        self.inner
            .offer_ota_over_mqtt(cloud, device, version, image)
    }

    /// Every request of Aliyun's MQTT file download, oldest first.
    pub fn block_requests(&self) -> Vec<BlockRequest> {
        self.inner.hub.lock().block_requests.clone()
    }

    /// Plays `fault` on the `nth` file download request from now (0: the next one).
    pub fn fail_block_request(&self, nth: usize, fault: BlockFault) {
        let mut hub = self.inner.hub.lock();
        let index = hub.block_requests.len() + nth;
        hub.block_faults.push((index, fault));
    }

    /// Serves the control interface as HTTP/JSON on `127.0.0.1:port` (0: any free port)
    /// and returns its address. See the crate README for the routes.
    ///
    /// # Errors
    /// The I/O error of binding the listener.
    pub fn serve_control(&mut self, port: u16) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let inner = Arc::clone(&self.inner);
        let control = Acceptor::start(
            listener,
            "emulator-control".into(),
            "emulator-control-conn".into(),
            move |stream| control_request(stream, &inner),
        )?;
        let addr = control.addr();
        self.control = Some(control);
        Ok(addr)
    }
}

impl Drop for CloudEmulator {
    fn drop(&mut self) {
        self.control = None;
        self.listeners.clear();
    }
}

impl Inner {
    /// A new offer of `image` at `version`, without a URL, token or stream yet, and its
    /// serial number.
    fn new_offer(&self, version: &str, image: &[u8]) -> (u64, OtaOffer) {
        let serial = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let offer = OtaOffer {
            version: version.to_owned(),
            url: String::new(),
            size: image.len(),
            md5: hex(&md5::Md5::digest(image)),
            sha256: hex(&sha2::Sha256::digest(image)),
            token: String::new(),
            task_id: format!("task-{serial}"),
            stream: None,
        };
        (serial, offer)
    }

    fn offer_ota_over_mqtt(
        &self,
        cloud: Cloud,
        device: &str,
        version: &str,
        image: Vec<u8>,
    ) -> Result<OtaOffer, DeliveryError> {
        if cloud != Cloud::Aliyun {
            return Err(DeliveryError::Unsupported(
                "only Aliyun delivers OTA images over MQTT",
            ));
        }
        let who = self.connected(cloud, device)?;
        let (serial, mut offer) = self.new_offer(version, &image);
        // Stream ids are large numbers on the cloud; the file is the package's first.
        let (stream_id, file_id) = (1_000_000 + serial, 1);
        offer.stream = Some((stream_id, file_id));
        self.hub.lock().streams.push(Stream {
            who: who.clone(),
            stream_id,
            file_id,
            bytes: Arc::new(image),
        });
        let now = self.hub.cloud.lock().now();
        let (topic, notice) =
            topics::ota_notice(&who, &offer, now).map_err(DeliveryError::Unsupported)?;
        self.hub.deliver(&who, &topic, notice.as_bytes())?;
        Ok(offer)
    }

    fn port(&self, cloud: Cloud) -> Option<u16> {
        self.ports
            .iter()
            .find(|(c, _)| *c == cloud)
            .map(|(_, p)| *p)
    }

    fn connected(&self, cloud: Cloud, device: &str) -> Result<Identity, DeliveryError> {
        self.hub
            .online()
            .into_iter()
            .find(|who| who.cloud == cloud && who.device == device)
            .ok_or_else(|| DeliveryError::NotConnected(format!("{cloud} {device}")))
    }

    fn command(
        &self,
        cloud: Cloud,
        device: &str,
        payload: &[u8],
        topic: Option<&str>,
    ) -> Result<String, DeliveryError> {
        let who = self.connected(cloud, device)?;
        let serial = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let topic = topic.map_or_else(|| topics::command_topic(&who, serial), str::to_owned);
        self.hub.deliver(&who, &topic, payload)?;
        Ok(topic)
    }

    fn data_request(
        &self,
        cloud: Cloud,
        device: &str,
        build: impl FnOnce(&Identity, u64) -> Result<(String, String, DataRequest), &'static str>,
    ) -> Result<DataRequest, DeliveryError> {
        let who = self.connected(cloud, device)?;
        let serial = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let (topic, body, request) = build(&who, serial).map_err(DeliveryError::Unsupported)?;
        // Waiting before it goes out: the answer may come back at once.
        self.hub.lock().waiting.push(request.clone());
        if let Err(e) = self.hub.deliver(&who, &topic, body.as_bytes()) {
            self.hub.lock().waiting.retain(|r| r != &request);
            return Err(e);
        }
        Ok(request)
    }

    fn offer_ota(
        &self,
        cloud: Cloud,
        device: &str,
        version: &str,
        image: Vec<u8>,
    ) -> Result<OtaOffer, DeliveryError> {
        let who = self.connected(cloud, device)?;
        let (serial, mut offer) = self.new_offer(version, &image);
        let token = hex(&sha2::Sha256::digest(format!(
            "{cloud}/{device}/{version}/{serial}"
        )))[..32]
            .to_owned();
        offer.token.clone_from(&token);
        let path = format!(
            "/fw/{cloud}/{serial}/firmware-{}.bin",
            version.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_")
        );
        let now = self.hub.cloud.lock().now();
        if cloud == Cloud::OneNet {
            return self.offer_onenet_ota(&who, serial, offer, &path, image);
        }
        // Only Huawei's notice carries the token, so only Huawei downloads need it.
        offer.url = if cloud == Cloud::Huawei {
            self.firmware.add_with_token(&path, image, &token)
        } else {
            self.firmware.add(&path, image)
        };
        let (topic, notice) =
            topics::ota_notice(&who, &offer, now).map_err(DeliveryError::Unsupported)?;
        self.hub.deliver(&who, &topic, notice.as_bytes())?;
        Ok(offer)
    }
}

impl Inner {
    /// OneNET: a task its HTTP OTA API serves (check, download, status), announced on
    /// `$sys/{pid}/{dn}/ota/inform`. The announcement's `params` are not documented; the
    /// emulator sends the target version and the task id.
    fn offer_onenet_ota(
        &self,
        who: &Identity,
        serial: u64,
        mut offer: OtaOffer,
        path: &str,
        image: Vec<u8>,
    ) -> Result<OtaOffer, DeliveryError> {
        let (pid, dn) = (&who.product, &who.device);
        self.firmware.add(path, image);
        offer.url = format!(
            "http://{}/fuse-ota/{pid}/{dn}/{serial}/download",
            self.firmware.addr()
        );
        offer.task_id = serial.to_string();
        offer.token = String::new();
        self.onenet_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(OtaTask {
                product_id: pid.clone(),
                device: dn.clone(),
                tid: serial,
                target: offer.version.clone(),
                size: offer.size,
                md5: offer.md5.clone(),
                image_path: path.to_owned(),
                ended: false,
            });
        let notice = json!({"id": serial.to_string(), "version": "1.0",
            "params": {"target": offer.version, "tid": serial}});
        let topic = format!("$sys/{pid}/{dn}/ota/inform");
        self.hub
            .deliver(who, &topic, notice.to_string().as_bytes())?;
        Ok(offer)
    }
}

fn control_request(mut stream: TcpStream, inner: &Inner) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let response = match read_request(&mut stream) {
        Ok(req) => route(inner, &req),
        Err(ReadError::Gone) => return,
        Err(ReadError::Bad(status, why)) => Response::text(status, why),
    };
    let _ = response.write_to(&mut stream);
    let _ = stream.shutdown(Shutdown::Write);
}

fn identity_json(who: &Identity) -> Value {
    json!({"cloud": who.cloud.name(), "product": who.product, "device": who.device})
}

fn error(status: u16, message: impl Into<String>) -> Response {
    Response::json(status, &json!({"error": message.into()}))
}

fn delivery_error(e: &DeliveryError) -> Response {
    let status = match e {
        DeliveryError::UnknownDevice(_) => 404,
        DeliveryError::NotConnected(_) | DeliveryError::NotSubscribed(_) => 409,
        DeliveryError::ForeignTopic(_) => 403,
        DeliveryError::Unsupported(_) => 422,
        DeliveryError::Io(_) => 502,
    };
    error(status, e.to_string())
}

/// The routes of the control interface (README "Control").
fn route(inner: &Inner, req: &Recorded) -> Response {
    let segments: Vec<&str> = req.path_only().trim_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["devices"]) => {
            let online: Vec<Value> = inner.hub.online().iter().map(identity_json).collect();
            let ports: serde_json::Map<String, Value> = inner
                .ports
                .iter()
                .map(|(c, p)| (c.name().to_owned(), json!(p)))
                .collect();
            Response::json(
                200,
                &json!({"online": online, "mqtt_ports": ports, "registration": inner.registration_url}),
            )
        }
        ("GET", ["published"]) => {
            let list: Vec<Value> = inner
                .hub
                .lock()
                .published
                .iter()
                .map(|p| {
                    let mut v = identity_json(&p.from);
                    v["topic"] = json!(p.topic);
                    v["payload"] = json!(String::from_utf8_lossy(&p.payload));
                    v["qos"] = json!(p.qos);
                    v["at_ms"] = json!(p.at_ms);
                    v
                })
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("GET", ["ota"]) => {
            let list: Vec<Value> = inner
                .hub
                .lock()
                .reports
                .iter()
                .map(|(who, r)| {
                    let mut v = identity_json(who);
                    v["report"] = json!(format!("{r:?}"));
                    v
                })
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("GET", ["refused"]) => {
            let list: Vec<Value> = inner
                .hub
                .lock()
                .refused
                .iter()
                .map(|r| json!({"cloud": r.cloud.name(), "client_id": r.client_id, "code": r.refusal.code, "reason": r.refusal.reason}))
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("POST", ["devices", cloud, device, action @ ("command" | "ota")]) => {
            let Ok(cloud) = cloud.parse::<Cloud>() else {
                return error(404, format!("unknown cloud `{cloud}`"));
            };
            let body: Value = if req.body.is_empty() {
                json!({})
            } else {
                match serde_json::from_slice(&req.body) {
                    Ok(v) => v,
                    Err(_) => return error(400, "the body is not JSON"),
                }
            };
            if *action == "command" {
                let payload = match &body["payload"] {
                    Value::String(s) => s.clone().into_bytes(),
                    Value::Null => return error(400, "`payload` is missing"),
                    other => other.to_string().into_bytes(),
                };
                match inner.command(cloud, device, &payload, body["topic"].as_str()) {
                    Ok(topic) => Response::json(200, &json!({"topic": topic})),
                    Err(e) => delivery_error(&e),
                }
            } else {
                let Some(version) = body["version"].as_str() else {
                    return error(400, "`version` is missing");
                };
                let size = match body["size"].as_u64() {
                    None => 64 * 1024,
                    Some(n) if (1..=16 * 1024 * 1024).contains(&n) => n as usize,
                    Some(_) => return error(400, "`size` must be 1 byte to 16 MiB"),
                };
                let image = image(size, version);
                let offered = if body["over"] == "mqtt" {
                    inner.offer_ota_over_mqtt(cloud, device, version, image)
                } else {
                    inner.offer_ota(cloud, device, version, image)
                };
                match offered {
                    Ok(o) => Response::json(
                        200,
                        &json!({"version": o.version, "url": o.url, "size": o.size, "md5": o.md5, "sha256": o.sha256, "task_id": o.task_id, "stream": o.stream}),
                    ),
                    Err(e) => delivery_error(&e),
                }
            }
        }
        ("GET", ["answers"]) => {
            let list: Vec<Value> = inner
                .hub
                .lock()
                .answers
                .iter()
                .map(|a| {
                    let mut v = identity_json(&a.from);
                    v["topic"] = json!(a.topic);
                    v["id"] = json!(a.id);
                    v["code"] = json!(a.code);
                    v["success"] = json!(a.success);
                    v["answers"] = json!(a.answers.as_ref().map(|r| r.topic.clone()));
                    v["output"] = json!(a.output);
                    v
                })
                .collect();
            Response::json(200, &Value::Array(list))
        }
        (
            "POST",
            [
                "devices",
                cloud,
                device,
                action @ ("set" | "invoke" | "desired"),
            ],
        ) => {
            let Ok(cloud) = cloud.parse::<Cloud>() else {
                return error(404, format!("unknown cloud `{cloud}`"));
            };
            let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                return error(400, "the body is not JSON");
            };
            let sent = match *action {
                "set" => inner.data_request(cloud, device, |who, serial| {
                    thing::property_set(who, serial, &body["values"])
                }),
                "invoke" => {
                    let Some(name) = body["name"].as_str() else {
                        return error(400, "`name` is missing");
                    };
                    let params = if body["params"].is_null() {
                        json!({})
                    } else {
                        body["params"].clone()
                    };
                    inner.data_request(cloud, device, |who, serial| {
                        thing::command(who, serial, name, &params)
                    })
                }
                _ => {
                    let Some(values) = body["values"].as_object() else {
                        return error(400, "`values` must be a JSON object");
                    };
                    let mut hub = inner.hub.lock();
                    hub.desired
                        .retain(|((c, d), _)| !(*c == cloud && d == device));
                    hub.desired
                        .push(((cloud, (*device).to_owned()), values.clone()));
                    return Response::json(200, &json!({"desired": values}));
                }
            };
            match sent {
                Ok(r) => Response::json(
                    200,
                    &json!({"topic": r.topic, "id": r.id, "reply_topic": r.reply_topic}),
                ),
                Err(e) => delivery_error(&e),
            }
        }
        (_, ["devices" | "published" | "ota" | "refused" | "answers", ..]) => {
            error(405, "method not allowed")
        }
        _ => error(404, "no such control route"),
    }
}

/// A firmware image of `size` bytes whose content depends on `version`.
pub fn image(size: usize, version: &str) -> Vec<u8> {
    let seed = version
        .bytes()
        .fold(17u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    (0..size as u32)
        .map(|i| (i.wrapping_mul(7).wrapping_add(i / 251).wrapping_add(seed) & 0xff) as u8)
        .collect()
}
