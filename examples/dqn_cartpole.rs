//! Deep Q-learning on CartPole, the notes' DQN: a Q-network 4 → 64 ReLU → 64 ReLU → 2 trained
//! with the Huber loss and Adam (2.5e-4, gradients clipped to norm 10) on batches of 64 from a
//! replay buffer of 50,000 steps, double DQN targets from a network copied every 500 steps,
//! epsilon from 1.0 down to 0.01 over the first 10,000 steps, discount 0.98. The environment is the classic cart-pole (Barto, Sutton and Anderson
//! 1983) with Gym's CartPole-v0 constants and rules (`sinew::train::CartPole`). Training stops
//! once the mean return over 100 consecutive episodes reaches 195 (Gym's bar for v0), or after
//! 1,000 episodes, for seeds 1-4; seed 1's returns are plotted in the run's report.
//!
//! On 2026-12-07 (`cargo run --release --example dqn_cartpole`): seeds 1, 2 and 3 reach a mean
//! return of 195 over 100 consecutive episodes after 259, 733 and 790 episodes (2-11 s each);
//! seed 4 does not within 1,000 (157.7 over its last 100). The first settings tried, Adam 1e-3,
//! discount 0.99 and plain DQN targets, solved no seed: the return climbed to about 150 and
//! collapsed, DQN's well-known instability; double DQN, a lower rate and discount 0.98 were
//! chosen after four trial runs on seeds 1-4.
//!
//! Run: `cargo run --release --example dqn_cartpole` (writes `report.html`, with the return
//! curve, under `$TMPDIR/sinew-examples/dqn_cartpole`).

use sinew::prelude::*;
use sinew::report::{html_report, write_atomic, CurveRecord, ModelRecord, RunRecord};
use sinew::train::{CartPole, Dqn, DqnOptions};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn network(seed: u64, compile: bool) -> Res<Sequential> {
    let mut m = Sequential::new();
    m.seed(seed).input(&[4]);
    m.add(Dense::new(64).activation(Activation::Relu))
        .add(Dense::new(64).activation(Activation::Relu))
        .add(Dense::new(2));
    if compile {
        m.compile(Optimizer::adam(2.5e-4).clipnorm(10.0), "huber", &[])?;
    }
    Ok(m)
}

/// Episode returns until the last 100 average `goal` or `max_episodes` have run.
fn train(seed: u64, max_episodes: usize, goal: f64) -> Res<Vec<f64>> {
    let opts = DqnOptions { seed, gamma: 0.98, ..DqnOptions::default() };
    let mut agent = Dqn::new(network(seed, true)?, network(seed, false)?, opts)?;
    let mut env = CartPole::new();
    let mut returns = vec![];
    while returns.len() < max_episodes {
        returns.push(agent.episode(&mut env)?);
        if returns.len() >= 100 && mean(&returns[returns.len() - 100..]) >= goal {
            break;
        }
    }
    Ok(returns)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() -> Res<()> {
    let dir = std::env::temp_dir().join("sinew-examples/dqn_cartpole");
    std::fs::create_dir_all(&dir)?;
    for seed in 2..=4 {
        let t = std::time::Instant::now();
        let r = train(seed, 1000, 195.0)?;
        let last = mean(&r[r.len().saturating_sub(100)..]);
        println!(
            "seed {seed}: {} episodes ({:.1} s): mean return over the last 100 {last:.1}",
            r.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let t = std::time::Instant::now();
    let returns = train(1, 1000, 195.0)?;
    let n = returns.len();
    println!(
        "seed 1: {n} episodes ({:.1} s): mean return over the last 100 {:.1}",
        t.elapsed().as_secs_f64(),
        mean(&returns[n.saturating_sub(100)..])
    );
    write_atomic(&dir.join("report.html"), html_report(&report(&returns)?).as_bytes())?;
    println!("report.html in {}", dir.display());
    Ok(())
}

/// The run's report: the Q-network, the figures and the return curve with its running mean.
fn report(returns: &[f64]) -> Res<RunRecord> {
    let n = returns.len();
    let x: Vec<f64> = (1..=n).map(|e| e as f64).collect();
    let avg: Vec<f64> = (0..n).map(|i| mean(&returns[i.saturating_sub(99)..=i])).collect();
    let curve = CurveRecord {
        title: "Return per episode (seed 1)".into(),
        x_label: "episode".into(),
        y_label: "return".into(),
        x,
        series: vec![("return".into(), returns.to_vec()), ("mean of the last 100".into(), avg)],
    };
    let last = mean(&returns[n.saturating_sub(100)..]);
    let record = ModelRecord {
        name: "Double DQN, seed 1".into(),
        summary: network(1, false)?.summary()?,
        metrics: vec![("episodes".into(), n as f64), ("mean return, last 100 episodes".into(), last)],
        curves: vec![curve],
        ..Default::default()
    };
    Ok(RunRecord {
        title: "DQN on CartPole-v0".into(),
        data: "sinew::train::CartPole (Barto, Sutton and Anderson 1983; Gym's CartPole-v0 constants and rules)".into(),
        models: vec![record],
    })
}

/// Seed 1 solves CartPole-v0: a mean return of 195 over 100 consecutive episodes within 400.
#[test]
fn seed_1_solves_cartpole() {
    let returns = train(1, 400, 195.0).unwrap();
    let last = mean(&returns[returns.len() - 100..]);
    eprintln!("{} episodes, mean return over the last 100 {last:.1}", returns.len());
    assert!(last >= 195.0, "{} episodes: {last}", returns.len());
    let html = html_report(&report(&returns).unwrap());
    assert!(html.contains("Return per episode (seed 1)") && html.contains("mean of the last 100"));
}
