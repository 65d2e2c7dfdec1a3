//! Writes every exploration chart of the Titanic table to `target/plot_gallery/`, as SVG and PNG.
//! Run: `cargo run -p sinew-report --example plot_gallery`

use sinew_data::{find_dataset, read_csv, CsvOptions};
use sinew_report::*;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let df = read_csv(find_dataset("titanic")?.join("titanic.csv"), &CsvOptions::new())?;
    let dir = std::path::Path::new("target/plot_gallery");
    std::fs::create_dir_all(dir)?;
    let plots = [
        ("age_hist", histogram(&df, "Age", 20)?),
        ("embarked_counts", count_plot(&df, "Embarked")?),
        ("age_fare", scatter_plot(&df, "Age", "Fare")?),
        ("age_by_class", box_plot(&df, "Age", Some("Pclass"))?),
        ("corr", correlation_heatmap(&df)?),
    ];
    for (name, p) in plots {
        save_plot(&p, dir.join(format!("{name}.svg")))?;
        save_plot(&p, dir.join(format!("{name}.png")))?;
        println!("wrote {name}.svg and {name}.png");
    }
    Ok(())
}
