//! The login page: username and password, then the new password, the one-time code, or the authenticator app to add that an account may ask for.

use std::future::Future;

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use vitals_api::{AuthenticatorSetup, ChallengeKind, ChallengeRequest, LoginRequest, LoginResponse};

use crate::access::{areas_for, landing_path};
use crate::api::{self, ApiError};
use crate::components::skeleton::TextSkeleton;
use crate::format::{as_sentence, wait_words};
use crate::session::{LoggedOut, Session, SessionState, safe_next_path, use_session};

/// Digits in the code of an authenticator app.
const CODE_DIGITS: usize = 6;

/// Where the login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Credentials,
    NewPassword,
    /// The code of an authenticator app: one already added, or (`MfaSetup`) one being added now.
    Code(ChallengeKind),
}

impl From<ChallengeKind> for Step {
    fn from(challenge: ChallengeKind) -> Self {
        match challenge {
            ChallengeKind::NewPasswordRequired => Step::NewPassword,
            ChallengeKind::SoftwareTokenMfa | ChallengeKind::MfaSetup => Step::Code(challenge),
        }
    }
}

/// What every step of the form shares: the step, the error, whether a request is on its way.
#[derive(Clone, Copy)]
struct LoginFlow {
    session: Session,
    step: RwSignal<Step>,
    /// Kept across the steps, so that starting over does not ask for it again.
    username: RwSignal<String>,
    /// What the app being added needs; only during the `MfaSetup` step.
    authenticator: RwSignal<Option<AuthenticatorSetup>>,
    error: RwSignal<Option<String>>,
    sending: RwSignal<bool>,
}

impl LoginFlow {
    /// Sends one step of the login and follows the server's answer.
    fn send(self, request: impl Future<Output = Result<LoginResponse, ApiError>> + 'static) {
        if self.sending.get_untracked() {
            return;
        }
        self.error.set(None);
        self.sending.set(true);
        spawn_local(async move {
            let answer = request.await;
            self.sending.set(false);
            match answer {
                Ok(LoginResponse::Session(info)) => self.session.logged_in(info),
                Ok(LoginResponse::Challenge {
                    challenge,
                    authenticator,
                }) => {
                    self.authenticator.set(authenticator);
                    self.step.set(challenge.into());
                }
                Err(error) => {
                    if starts_over(&error) {
                        self.start_over();
                    }
                    self.error.set(Some(login_error_words(&error)));
                }
            }
        });
    }

    /// Shows why the form was not sent.
    fn refuse(self, message: &str) {
        self.error.set(Some(message.to_owned()));
    }

    fn start_over(self) {
        self.error.set(None);
        self.authenticator.set(None);
        self.step.set(Step::Credentials);
    }
}

/// Logs a person in and sends them to the page they came for (`?next=`), or to their start page.
#[component]
pub fn LoginPage() -> impl IntoView {
    crate::pages::set_page_title("Log in");
    let session = use_session();
    let state = session.state();
    let query = use_query_map();
    let next = Memo::new(move |_| {
        query.with(|query| {
            query
                .get("next")
                .and_then(|next| safe_next_path(&next).map(str::to_owned))
        })
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        let target = state.with(|state| match state {
            SessionState::LoggedIn(info) => Some(
                next.get()
                    .unwrap_or_else(|| landing_path(&areas_for(info)).to_owned()),
            ),
            _ => None,
        });
        if let Some(target) = target {
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..NavigateOptions::default()
                },
            );
        }
    });

    let flow = LoginFlow {
        session,
        step: RwSignal::new(Step::Credentials),
        username: RwSignal::new(String::new()),
        authenticator: RwSignal::new(None),
        error: RwSignal::new(None),
        sending: RwSignal::new(false),
    };
    let first_field = NodeRef::<html::Input>::new();
    let error_text = NodeRef::<html::P>::new();
    // Focus goes to the first field of each step as it appears, unless an
    // error came with it, and to each error as it appears.
    Effect::new(move |_| {
        if let Some(field) = first_field.get()
            && flow.error.with_untracked(Option::is_none)
        {
            let _ = field.focus();
        }
    });
    Effect::new(move |_| {
        if let Some(text) = error_text.get() {
            let _ = text.focus();
        }
    });

    let show_form = Memo::new(move |_| {
        state.with(|state| matches!(state, SessionState::LoggedOut(_) | SessionState::Unreachable(_)))
    });
    let notice = Memo::new(move |_| {
        state.with(|state| match state {
            SessionState::LoggedOut(LoggedOut::Ended) => Some("Your session ended; log in again."),
            SessionState::LoggedOut(LoggedOut::ByChoice) => Some("You have logged out."),
            _ => None,
        })
    });

    view! {
        <section class="login" aria-labelledby="login-heading">
            <div class="login-card">
                {move || {
                    let (heading, lead) = step_words(flow.step.get());
                    view! {
                        <h1 id="login-heading">{heading}</h1>
                        <p class="login-lead">{lead}</p>
                    }
                }}
                {move || {
                    notice
                        .get()
                        .map(|notice| {
                            view! {
                                <p class="form-notice" role="status" data-testid="login-notice">
                                    {notice}
                                </p>
                            }
                        })
                }}
                <div class="form-messages" aria-live="assertive">
                    {move || {
                        flow.error
                            .get()
                            .map(|message| {
                                view! {
                                    <p
                                        class="form-error"
                                        id="login-error"
                                        data-testid="login-error"
                                        tabindex="-1"
                                        node_ref=error_text
                                    >
                                        {message}
                                    </p>
                                }
                            })
                    }}
                </div>
                {move || {
                    if !show_form.get() {
                        return view! { <TextSkeleton lines=4 /> }.into_any();
                    }
                    match flow.step.get() {
                        Step::Credentials => view! { <CredentialsForm flow first_field /> }.into_any(),
                        Step::NewPassword => view! { <NewPasswordForm flow first_field /> }.into_any(),
                        Step::Code(challenge) => {
                            view! { <CodeForm flow first_field challenge /> }.into_any()
                        }
                    }
                }}
            </div>
        </section>
    }
}

/// The heading and the sentence under it for each step.
fn step_words(step: Step) -> (&'static str, &'static str) {
    match step {
        Step::Credentials => ("Log in to Vitals", "Use your clinic account."),
        Step::NewPassword => (
            "Choose a new password",
            "Your account needs a new password before you can continue.",
        ),
        Step::Code(ChallengeKind::MfaSetup) => (
            "Set up your authenticator app",
            "Your account needs an authenticator app before you can continue. Add Vitals to the app, then enter the 6-digit code it shows.",
        ),
        Step::Code(_) => (
            "Enter your one-time code",
            "Open the authenticator app on your phone and enter the 6-digit code it shows for Vitals.",
        ),
    }
}

#[component]
fn CredentialsForm(flow: LoginFlow, first_field: NodeRef<html::Input>) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let request = LoginRequest {
            username: flow.username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        if request.username.is_empty() || request.password.is_empty() {
            flow.refuse("Enter your username and password.");
            return;
        }
        flow.send(async move { api::login(&request).await });
    };
    view! {
        <form class="login-form" novalidate on:submit=submit>
            <div class="field">
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    required
                    node_ref=first_field
                    bind:value=flow.username
                />
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
            </div>
            <SubmitButton sending=flow.sending idle="Log in" busy="Logging in…" />
        </form>
    }
}

#[component]
fn NewPasswordForm(flow: LoginFlow, first_field: NodeRef<html::Input>) -> impl IntoView {
    let new_password = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let new_password = new_password.get_untracked();
        if let Err(problem) = check_new_password(&new_password, &confirmation.get_untracked()) {
            flow.refuse(problem);
            return;
        }
        let request = ChallengeRequest {
            challenge: ChallengeKind::NewPasswordRequired,
            new_password: Some(new_password),
            code: None,
        };
        flow.send(async move { api::answer_challenge(&request).await });
    };
    view! {
        <form class="login-form" novalidate on:submit=submit>
            // Tells password managers whose password this is, so they save the new one under the right account.
            <input
                type="text"
                name="username"
                autocomplete="username"
                readonly
                hidden
                prop:value=move || flow.username.get()
            />
            <div class="field">
                <label for="new-password">"New password"</label>
                <input
                    id="new-password"
                    name="new-password"
                    type="password"
                    autocomplete="new-password"
                    required
                    node_ref=first_field
                    bind:value=new_password
                />
            </div>
            <div class="field">
                <label for="confirm-password">"New password again"</label>
                <input
                    id="confirm-password"
                    name="confirm-password"
                    type="password"
                    autocomplete="new-password"
                    required
                    bind:value=confirmation
                />
            </div>
            <SubmitButton sending=flow.sending idle="Set password and log in" busy="Saving…" />
            <StartOver flow />
        </form>
    }
}

/// The code field, and for `MfaSetup` first what adding Vitals to the app needs.
#[component]
fn CodeForm(flow: LoginFlow, first_field: NodeRef<html::Input>, challenge: ChallengeKind) -> impl IntoView {
    let setting_up = challenge == ChallengeKind::MfaSetup;
    let code = RwSignal::new(String::new());
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let code = match check_code(&code.get_untracked()) {
            Ok(code) => code,
            Err(problem) => {
                flow.refuse(problem);
                return;
            }
        };
        let request = ChallengeRequest {
            challenge,
            new_password: None,
            code: Some(code),
        };
        flow.send(async move { api::answer_challenge(&request).await });
    };
    let setup = setting_up
        .then(|| flow.authenticator.get_untracked())
        .flatten()
        .map(|setup| view! { <AuthenticatorSteps setup /> });
    view! {
        <form class="login-form" novalidate on:submit=submit>
            {setup}
            <div class="field">
                <label for="mfa-code">
                    {if setting_up { "6-digit code from the app" } else { "6-digit code" }}
                </label>
                <input
                    id="mfa-code"
                    name="mfa-code"
                    type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    maxlength="7"
                    required
                    class="code-input"
                    aria-describedby=setting_up.then_some("authenticator-steps")
                    node_ref=first_field
                    bind:value=code
                />
            </div>
            <SubmitButton
                sending=flow.sending
                idle=if setting_up { "Finish setup and log in" } else { "Verify and log in" }
                busy="Checking…"
            />
            <StartOver flow />
        </form>
    }
}

/// The ways to add Vitals to an authenticator app: scan the QR code, type the key, or open the app on this device.
#[component]
fn AuthenticatorSteps(setup: AuthenticatorSetup) -> impl IntoView {
    view! {
        <ol class="authenticator-steps" id="authenticator-steps">
            <li>
                "Scan this QR code with your authenticator app:"
                <img
                    src=api::svg_image_src(&setup.qr_svg)
                    alt="QR code that adds Vitals to an authenticator app"
                />
            </li>
            <li>
                "Or type this key into the app:"
                <code>{setup.secret_key}</code>
            </li>
            <li>
                <a href=setup.uri>"Open in an authenticator app on this device"</a>
            </li>
        </ol>
    }
}

/// The form's submit button, disabled while a request is on its way.
#[component]
fn SubmitButton(sending: RwSignal<bool>, idle: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button type="submit" id="login-submit" class="button-primary" disabled=move || sending.get()>
            {move || if sending.get() { busy } else { idle }}
        </button>
    }
}

/// Back to the username and password, for a login that should not go on.
#[component]
fn StartOver(flow: LoginFlow) -> impl IntoView {
    view! {
        <button type="button" class="button-quiet" on:click=move |_| flow.start_over()>
            "Start over with another account"
        </button>
    }
}

/// Whether the new password may be sent: present, and typed the same twice.
fn check_new_password(new_password: &str, confirmation: &str) -> Result<(), &'static str> {
    if new_password.is_empty() {
        Err("Enter a new password.")
    } else if new_password != confirmation {
        Err("The two passwords are not the same. Type the new password again in both fields.")
    } else {
        Ok(())
    }
}

/// The one-time code without the spaces people type in it, if it is 6 digits.
fn check_code(typed: &str) -> Result<String, &'static str> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() == CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(code)
    } else {
        Err("Enter the 6 digits your authenticator app shows.")
    }
}

/// Whether a refused step sends the person back to the username and password.
fn starts_over(error: &ApiError) -> bool {
    matches!(error, ApiError::Unauthorized { code, .. } if code == "challenge_expired")
}

/// What to tell a person whose login step was refused.
fn login_error_words(error: &ApiError) -> String {
    match error {
        ApiError::Unauthorized { code, .. } if code == "invalid_credentials" => {
            "The username or password is wrong. Check both, then try again.".to_owned()
        }
        ApiError::Unauthorized { code, .. } if code == "challenge_expired" => {
            "That step took too long, so the login was cancelled. Log in again.".to_owned()
        }
        ApiError::TooManyAttempts {
            retry_after_secs: Some(seconds),
            ..
        } => format!("Too many attempts. Try again in {}.", wait_words(*seconds)),
        ApiError::TooManyAttempts { .. } => {
            "Too many attempts. Wait a few minutes, then try again.".to_owned()
        }
        ApiError::Forbidden { code, .. } if code == "no_role" => {
            "Your account has no role in Vitals yet. Ask a Vitals admin to add you to a group.".to_owned()
        }
        ApiError::Server { code, .. } if code == "code_rejected" => {
            "That code is not right, or it has expired. Enter the code your app shows now.".to_owned()
        }
        // `password_rejected` and anything else: the server's sentence says what to do.
        other => as_sentence(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, code: &str, message: &str) -> ApiError {
        let (code, message) = (code.to_owned(), message.to_owned());
        match status {
            401 => ApiError::Unauthorized { code, message },
            403 => ApiError::Forbidden { code, message },
            _ => ApiError::Server {
                status,
                code,
                message,
            },
        }
    }

    #[test]
    fn wrong_credentials_read_the_same_for_a_wrong_name_or_password() {
        assert_eq!(
            login_error_words(&error(
                401,
                "invalid_credentials",
                "the username or password is wrong"
            )),
            "The username or password is wrong. Check both, then try again."
        );
    }

    #[test]
    fn lockout_says_how_long_to_wait() {
        let locked = |retry_after_secs| ApiError::TooManyAttempts {
            retry_after_secs,
            message: "too many attempts".into(),
        };
        assert_eq!(
            login_error_words(&locked(Some(240))),
            "Too many attempts. Try again in 4 minutes."
        );
        assert_eq!(
            login_error_words(&locked(Some(30))),
            "Too many attempts. Try again in 30 seconds."
        );
        assert_eq!(
            login_error_words(&locked(None)),
            "Too many attempts. Wait a few minutes, then try again."
        );
    }

    #[test]
    fn an_expired_challenge_starts_the_login_over() {
        let expired = error(401, "challenge_expired", "log in again");
        assert!(starts_over(&expired));
        assert!(login_error_words(&expired).ends_with("Log in again."));
        assert!(!starts_over(&error(401, "invalid_credentials", "")));
        assert!(!starts_over(&error(400, "code_rejected", "")));
    }

    #[test]
    fn a_rejected_password_shows_the_servers_reason() {
        assert_eq!(
            login_error_words(&error(
                400,
                "password_rejected",
                "the password needs at least one number"
            )),
            "The password needs at least one number."
        );
    }

    #[test]
    fn other_refusals_have_their_own_words() {
        assert!(login_error_words(&error(403, "no_role", "")).contains("no role in Vitals"));
        assert!(login_error_words(&error(400, "code_rejected", "")).starts_with("That code is not right"));
        assert!(login_error_words(&ApiError::Network).starts_with("The Vitals server could not be reached"));
    }

    #[test]
    fn new_password_must_be_typed_twice_the_same() {
        assert_eq!(check_new_password("correct horse", "correct horse"), Ok(()));
        assert!(check_new_password("correct horse", "correct hose").is_err());
        assert_eq!(check_new_password("", ""), Err("Enter a new password."));
    }

    #[test]
    fn each_challenge_has_its_step_and_an_added_app_is_set_up_first() {
        assert_eq!(Step::from(ChallengeKind::NewPasswordRequired), Step::NewPassword);
        assert_eq!(
            Step::from(ChallengeKind::SoftwareTokenMfa),
            Step::Code(ChallengeKind::SoftwareTokenMfa)
        );
        let setup = Step::from(ChallengeKind::MfaSetup);
        assert_eq!(step_words(setup).0, "Set up your authenticator app");
        assert_eq!(
            step_words(Step::Code(ChallengeKind::SoftwareTokenMfa)).0,
            "Enter your one-time code"
        );
    }

    #[test]
    fn code_is_six_digits_spaces_allowed() {
        assert_eq!(check_code("123456"), Ok("123456".into()));
        assert_eq!(check_code(" 123 456 "), Ok("123456".into()));
        assert!(check_code("12345").is_err());
        assert!(check_code("1234567").is_err());
        assert!(check_code("12a456").is_err());
        assert!(check_code("١٢٣٤٥٦").is_err());
    }
}
