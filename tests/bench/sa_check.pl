#!/usr/bin/perl
# SpamAssassin's side of run_scan_bench.sh: one Mail::SpamAssassin object, as spamd keeps one
# per child, checks every message named on the command line (or in @LISTFILE). Local tests
# only (no DNS, no network checks), no Bayes, no auto-learning, no AWL/TxRep, the stock rules of
# /usr/share/spamassassin and the site config of /etc/spamassassin (its .pre files load the
# plugins, Rule2XSBody included: Debian's package runs sa-compile).
#
# usage: sa_check.pl [--reps N] STATEDIR FILE... | @LISTFILE
# stdout per message (last repetition): "file\tbytes\tcpu_us\tscore\ttests";
# then "#load_s", "#rep N cpu_s" lines. CPU is this process's user+sys (CLOCK_PROCESS_CPUTIME_ID).
use strict;
use warnings;
use Mail::SpamAssassin;
use Time::HiRes qw(clock_gettime CLOCK_PROCESS_CPUTIME_ID);

my $reps = 1;
if (@ARGV && $ARGV[0] eq '--reps') { shift; $reps = shift; }
my $state = shift or die "usage: $0 [--reps N] STATEDIR FILE...\n";
my @files = map { /^@(.*)/ ? do { open my $l, '<', $1 or die "$1: $!"; map { chomp; $_ } <$l> } : $_ } @ARGV;

sub cpu { return clock_gettime(CLOCK_PROCESS_CPUTIME_ID); }

my $t0 = cpu();
my $sa = Mail::SpamAssassin->new({
  local_tests_only => 1,
  dont_copy_prefs => 1,
  userstate_dir => $state,
  home_dir_for_helpers => $state,
  rules_filename => '/usr/share/spamassassin',
  site_rules_filename => '/etc/spamassassin',
  userprefs_filename => "$state/user_prefs",
  post_config_text => "use_bayes 0\nbayes_auto_learn 0\nuse_auto_whitelist 0\nuse_txrep 0\n"
                    . "dns_available no\nuse_pyzor 0\nuse_razor2 0\nuse_dcc 0\n",
});
$sa->compile_now(0);
printf "#load_s\t%.4f\n", cpu() - $t0;

my @raw = map { local $/; open my $f, '<:raw', $_ or die "$_: $!"; scalar <$f> } @files;
for my $rep (0 .. $reps - 1) {
  my $start = cpu();
  for my $i (0 .. $#raw) {
    my $m0 = cpu();
    my $mail = $sa->parse($raw[$i]);
    my $status = $sa->check($mail);
    my ($score, $tests) = ($status->get_score(), $status->get_names_of_tests_hit());
    $status->finish();
    $mail->finish();
    printf "%s\t%d\t%.0f\t%.2f\t%s\n", $files[$i], length $raw[$i], (cpu() - $m0) * 1e6, $score,
      $tests if $rep == $reps - 1;
  }
  printf "#rep\t%d\tcpu_s\t%.4f\n", $rep, cpu() - $start;
}
