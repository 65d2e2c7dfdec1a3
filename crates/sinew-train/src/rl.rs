//! Deep Q-learning (Mnih et al. 2015) on sinew models: an [`Env`] trait in Gym's shape, the
//! classic CartPole ([`CartPole`]), and [`Dqn`]: a replay buffer, a target network, an
//! epsilon-greedy policy with linear decay, and a loss the user compiles (the notes use Huber).

use crate::error::{Error, Result};
use crate::model::Model;
use sinew_tensor::{Rng, Tensor};

/// What one step of an environment gives back (Gym's `step`).
#[derive(Clone, Debug, PartialEq)]
pub struct EnvStep {
    pub observation: Vec<f32>,
    pub reward: f32,
    /// The episode ended in a terminal state (its value is 0).
    pub terminated: bool,
    /// The episode was cut short (a time limit): not terminal, its value still counts.
    pub truncated: bool,
}

/// An environment an agent acts in, in Gym's shape.
pub trait Env {
    fn observation_size(&self) -> usize;
    fn actions(&self) -> usize;
    /// Starts an episode; its first observation.
    fn reset(&mut self, rng: &mut Rng) -> Vec<f32>;
    fn step(&mut self, action: usize) -> EnvStep;
}

/// The cart-pole of Barto, Sutton and Anderson (1983) with Gym's `CartPole-v0` constants and
/// rules: a pole hinged on a cart, pushed left (action 0) or right (1) with 10 N; reward 1 a
/// step; the episode terminates when the pole leans past 12° or the cart leaves ±2.4, and is
/// truncated after 200 steps. The state starts uniform in ±0.05 and moves by explicit Euler
/// steps of 0.02 s.
#[derive(Clone, Debug)]
pub struct CartPole {
    /// x, ẋ, θ, θ̇.
    state: [f64; 4],
    steps: usize,
    pub max_steps: usize,
}

impl Default for CartPole {
    fn default() -> Self {
        CartPole { state: [0.0; 4], steps: 0, max_steps: 200 }
    }
}

impl CartPole {
    pub fn new() -> Self {
        Self::default()
    }
    /// x, ẋ, θ, θ̇.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }
    /// Puts the cart in `state` (x, ẋ, θ, θ̇) and restarts the step count, as after a reset.
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
        self.steps = 0;
    }
}

impl Env for CartPole {
    fn observation_size(&self) -> usize {
        4
    }
    fn actions(&self) -> usize {
        2
    }
    fn reset(&mut self, rng: &mut Rng) -> Vec<f32> {
        self.state = [(); 4].map(|_| rng.next_f64() * 0.1 - 0.05);
        self.steps = 0;
        self.state.iter().map(|&v| v as f32).collect()
    }
    fn step(&mut self, action: usize) -> EnvStep {
        const GRAVITY: f64 = 9.8;
        const MASS_CART: f64 = 1.0;
        const MASS_POLE: f64 = 0.1;
        const TOTAL_MASS: f64 = MASS_CART + MASS_POLE;
        const HALF_LENGTH: f64 = 0.5;
        const POLE_MASS_LENGTH: f64 = MASS_POLE * HALF_LENGTH;
        const FORCE: f64 = 10.0;
        const TAU: f64 = 0.02;
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE } else { -FORCE };
        let (cos, sin) = (theta.cos(), theta.sin());
        let temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sin) / TOTAL_MASS;
        let theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos * cos / TOTAL_MASS));
        let x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS;
        self.state = [x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc];
        self.steps += 1;
        let [x, _, theta, _] = self.state;
        let terminated = x.abs() > 2.4 || theta.abs() > 12.0 * 2.0 * std::f64::consts::PI / 360.0;
        EnvStep {
            observation: self.state.iter().map(|&v| v as f32).collect(),
            reward: 1.0,
            terminated,
            truncated: !terminated && self.steps >= self.max_steps,
        }
    }
}

/// The agent's settings: discount, replay and batch sizes, when learning starts, the epsilon
/// schedule (linear from `epsilon_start` to `epsilon_end` over `epsilon_decay_steps`), how often
/// the target network copies the online one, and the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct DqnOptions {
    pub gamma: f64,
    pub batch_size: usize,
    pub replay_capacity: usize,
    pub learning_starts: usize,
    pub epsilon_start: f64,
    pub epsilon_end: f64,
    pub epsilon_decay_steps: usize,
    pub target_update: usize,
    /// Double DQN (van Hasselt et al. 2016): the online network picks the next action, the
    /// target network values it, which curbs the overestimation that destabilises plain DQN.
    pub double: bool,
    pub seed: u64,
}

impl Default for DqnOptions {
    fn default() -> Self {
        DqnOptions {
            gamma: 0.99,
            batch_size: 64,
            replay_capacity: 50_000,
            learning_starts: 1_000,
            epsilon_start: 1.0,
            epsilon_end: 0.01,
            epsilon_decay_steps: 10_000,
            target_update: 500,
            double: true,
            seed: 0,
        }
    }
}

/// One remembered step.
struct Transition {
    obs: Vec<f32>,
    action: usize,
    reward: f32,
    next: Vec<f32>,
    terminal: bool,
}

/// A deep Q-network agent: `q` (compiled by the caller, with the loss and optimizer it learns
/// with) and `target`, the same architecture, whose weights follow `q`'s every
/// `target_update` steps.
pub struct Dqn {
    q: Model,
    target: Model,
    opts: DqnOptions,
    replay: Vec<Transition>,
    next_slot: usize,
    steps: usize,
    rng: Rng,
}

fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
}

impl Dqn {
    /// `q` must be compiled; `target` is built here with `q`'s weights.
    pub fn new(q: Model, mut target: Model, opts: DqnOptions) -> Result<Dqn> {
        if q.optimizer().is_none() {
            return Err(Error::new(
                "Dqn: compile the Q-network first (its loss and optimizer are what it learns with)",
            ));
        }
        if opts.batch_size == 0 || opts.replay_capacity < opts.batch_size || !(0.0..=1.0).contains(&opts.gamma) {
            return Err(Error::new(format!(
                "Dqn: batch_size ({}) must be at least 1 and at most replay_capacity ({}), gamma ({}) in [0, 1]",
                opts.batch_size, opts.replay_capacity, opts.gamma
            )));
        }
        target.build()?;
        target.set_weights(&q.get_weights())?;
        let rng = Rng::seed(opts.seed);
        Ok(Dqn { q, target, opts, replay: vec![], next_slot: 0, steps: 0, rng })
    }

    pub fn q_network(&mut self) -> &mut Model {
        &mut self.q
    }
    /// Environment steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// The exploration rate at the current step.
    pub fn epsilon(&self) -> f64 {
        let o = &self.opts;
        let t = (self.steps as f64 / o.epsilon_decay_steps.max(1) as f64).min(1.0);
        o.epsilon_start + (o.epsilon_end - o.epsilon_start) * t
    }

    /// The greedy action for `obs`.
    pub fn act(&mut self, obs: &[f32]) -> Result<usize> {
        let q = self.q.predict(Tensor::from_vec(obs.to_vec(), [1, obs.len()]), 1)?;
        Ok(argmax(q.as_slice_f32()))
    }

    /// Runs one episode in `env`, learning as it goes; returns its total reward.
    pub fn episode(&mut self, env: &mut dyn Env) -> Result<f64> {
        let mut obs = env.reset(&mut self.rng);
        let mut total = 0.0;
        loop {
            let action =
                if self.rng.next_f64() < self.epsilon() { self.rng.below(env.actions()) } else { self.act(&obs)? };
            let s = env.step(action);
            total += s.reward as f64;
            let t = Transition {
                obs: obs.clone(),
                action,
                reward: s.reward,
                next: s.observation.clone(),
                terminal: s.terminated,
            };
            if self.replay.len() < self.opts.replay_capacity {
                self.replay.push(t);
            } else {
                self.replay[self.next_slot] = t;
                self.next_slot = (self.next_slot + 1) % self.opts.replay_capacity;
            }
            self.steps += 1;
            if self.steps >= self.opts.learning_starts && self.replay.len() >= self.opts.batch_size {
                self.learn()?;
            }
            if self.steps % self.opts.target_update.max(1) == 0 {
                self.target.set_weights(&self.q.get_weights())?;
            }
            if s.terminated || s.truncated {
                return Ok(total);
            }
            obs = s.observation;
        }
    }

    /// One gradient step on a batch from the replay buffer: the taken action's target is
    /// `r + γ max_a' Q_target(s', a')` (with `double`, `r + γ Q_target(s', argmax_a' Q(s', a'))`;
    /// just `r` at a terminal state); the other actions keep the network's own values, so they
    /// add no error.
    fn learn(&mut self) -> Result<()> {
        let b = self.opts.batch_size;
        let picks: Vec<usize> = (0..b).map(|_| self.rng.below(self.replay.len())).collect();
        let d = self.replay[0].obs.len();
        let gather = |f: &dyn Fn(&Transition) -> &[f32]| {
            Tensor::from_vec(picks.iter().flat_map(|&i| f(&self.replay[i]).to_vec()).collect(), [b, d])
        };
        let (obs, next) = (gather(&|t| &t.obs), gather(&|t| &t.next));
        let next_q = self.target.predict(next.clone(), b)?;
        let online_next = if self.opts.double { Some(self.q.predict(next, b)?) } else { None };
        let mut y = self.q.predict(obs.clone(), b)?.to_vec_f32();
        let actions = y.len() / b;
        for (k, &i) in picks.iter().enumerate() {
            let t = &self.replay[i];
            let row = &next_q.as_slice_f32()[k * actions..(k + 1) * actions];
            let best = match &online_next {
                Some(o) => row[argmax(&o.as_slice_f32()[k * actions..(k + 1) * actions])],
                None => row.iter().cloned().fold(f32::MIN, f32::max),
            };
            let future = if t.terminal { 0.0 } else { self.opts.gamma as f32 * best };
            y[k * actions + t.action] = t.reward + future;
        }
        self.q.train_on_batch(obs, Tensor::from_vec(y, [b, actions]))?;
        Ok(())
    }
}
