//! placeholder

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_: &Args) -> crate::Res<()> {
    Ok(())
}
