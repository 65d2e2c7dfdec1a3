//! Deep Q-learning (issue 20): sinew's CartPole steps as Gymnasium 1.0's CartPole-v0 does
//! (`tests/fixtures/gym_cartpole.json`, from `tests/fixtures/gen/gen_gym_cartpole.py`): the
//! same states under the same actions, terminating and truncating on the same step; and the
//! DQN refuses an uncompiled network.

use serde_json::Value;
use sinew_nn::Dense;
use sinew_train::*;

#[test]
fn cartpole_follows_gymnasium_step_for_step() {
    let f: Value = serde_json::from_str(include_str!("fixtures/gym_cartpole.json")).unwrap();
    for case in f["cases"].as_array().unwrap() {
        let mut env = CartPole::new();
        let start: Vec<f64> = case["start"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        env.set_state([start[0], start[1], start[2], start[3]]);
        let steps = case["steps"].as_array().unwrap();
        for (t, s) in steps.iter().enumerate() {
            let out = env.step(s["action"].as_u64().unwrap() as usize);
            let want: Vec<f64> = s["state"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            for (a, b) in env.state().iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{} step {t}: {:?} against {want:?}", case["policy"], env.state());
            }
            assert_eq!(out.reward, 1.0);
            assert_eq!(out.terminated, s["terminated"].as_bool().unwrap(), "{} step {t}", case["policy"]);
            assert_eq!(out.truncated, s["truncated"].as_bool().unwrap(), "{} step {t}", case["policy"]);
        }
    }
}

#[test]
fn the_agent_needs_a_compiled_network() {
    let net = || {
        let mut m = Sequential::new();
        m.input(&[4]).add(Dense::new(2));
        m
    };
    let err = Dqn::new(net(), net(), DqnOptions::default()).err().unwrap().to_string();
    assert!(err.contains("compile the Q-network first"), "{err}");
}
