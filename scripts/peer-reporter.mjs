// node --test reporter for scripts/peer-nodemailer.sh: "passed/total" over leaf tests (describe
// blocks are not counted), then the names of the tests that did not pass.
export default async function* leaves(source) {
  let pass = 0;
  const failed = [];
  for await (const e of source) {
    if ((e.type === 'test:pass' || e.type === 'test:fail') && e.data.details && e.data.details.type !== 'suite') {
      if (e.type === 'test:pass' && !e.data.skip && !e.data.todo) pass++;
      else failed.push(e.data.name);
    }
  }
  yield `${pass}/${pass + failed.length}` + (failed.length ? `  not passed: ${failed.join(' | ')}` : '') + '\n';
}
