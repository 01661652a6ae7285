<?php
// Run by hand beside ../shared/tools/moodle (whose grade.php grades numbers and choices only), after its
// import.php: php tests/moodle/list_fields.php --import=/abs/import.json --manifest=/abs/manifest.json
// Grade the SHORTANSWER (list) fields of chosen imported cloze questions with Moodle's own engine:
// the verified response with each accepted spelling of the list -> 1; the list with one entry changed -> < 1.
define('CLI_SCRIPT', true);
require('/tmp/moodle/www/config.php');
require_once($CFG->libdir . '/clilib.php');
require_once($CFG->libdir . '/questionlib.php');
[$opts] = cli_get_params(['import' => '', 'manifest' => '', 'only' => ''], []);
\core\session\manager::set_user(get_admin());
$import = json_decode(file_get_contents($opts['import']), true);
$manifest = json_decode(file_get_contents($opts['manifest']), true);
$records = [];
foreach ($manifest['lms']['questions'] as $r) { $records[$r['ident']] = $r; }
$context = context::instance_by_id($import['contextid']);
function grade($qid, $context, $resp) {
    $quba = question_engine::make_questions_usage_by_activity('core_question_preview', $context);
    $quba->set_preferred_behaviour('deferredfeedback');
    $slot = $quba->add_question(question_bank::load_question($qid), 1);
    $quba->start_question($slot);
    $quba->process_action($slot, $resp);
    $quba->finish_question($slot);
    return (float)$quba->get_question_fraction($slot);
}
$bad = 0; $n = 0;
foreach ($import['questions'] as $iq) {
    $rec = $records[$iq['idnumber']] ?? null;
    if (!$rec || empty($rec['fields'])) continue;
    $kinds = array_column($rec['fields'], 'kind');
    if (!in_array('list', $kinds)) continue;
    $q = question_bank::load_question($iq['id']);
    $base = [];
    foreach ($rec['fields'] as $i => $f) {
        $sub = $q->subquestions[$i + 1];
        if ($f['kind'] === 'number') { $base['sub' . ($i + 1) . '_answer'] = json_encode($f['value']); }
        else if ($f['kind'] === 'list') { $base['sub' . ($i + 1) . '_answer'] = $f['value']; if ($sub->get_type_name() !== 'shortanswer') { echo "{$iq['idnumber']}: sub " . ($i+1) . " is " . $sub->get_type_name() . "\n"; $bad++; } }
        else { echo "{$iq['idnumber']}: field kind {$f['kind']} not handled here\n"; continue 2; }
    }
    foreach ($rec['fields'] as $i => $f) {
        if ($f['kind'] !== 'list') continue;
        $k = 'sub' . ($i + 1) . '_answer';
        foreach ($f['options'] as $text) {
            $fr = grade($iq['id'], $context, array_merge($base, [$k => $text])); $n++;
            if ($fr < 0.9999999) { echo "{$iq['idnumber']} {$f['key']}: '$text' scores $fr\n"; $bad++; }
        }
        // one entry changed: the first number of the text plus 1
        $wrong = preg_replace_callback('~-?\d+(\.\d+)?~', function ($m) { return (string)((float)$m[0] + 1); }, $f['value'], 1);
        $fr = grade($iq['id'], $context, array_merge($base, [$k => $wrong])); $n++;
        if ($fr >= 0.9999999) { echo "{$iq['idnumber']} {$f['key']}: wrong '$wrong' scores $fr\n"; $bad++; }
        // the 60-character padding answer must not accept the verified text or an empty answer
        $fr = grade($iq['id'], $context, array_merge($base, [$k => ''])); $n++;
        if ($fr >= 0.9999999) { echo "{$iq['idnumber']} {$f['key']}: empty scores $fr\n"; $bad++; }
        echo "{$iq['idnumber']} {$f['key']}: " . count($f['options']) . " spellings of '{$f['value']}' graded 1, '$wrong' graded < 1\n";
    }
}
echo "list fields: $n responses graded, $bad problems\n";
