// Structural checks of a SARIF 2.1.0 log against the schema's required
// properties, enumerations, minimums and property names (the schema sets
// additionalProperties: false), for the objects a log from wasm-warden holds.
// Returns the list of problems, each naming the JSON path.

type Json = any;

const allowed: Record<string, string[]> = {
  sarifLog: ['$schema', 'version', 'runs', 'inlineExternalProperties', 'properties'],
  run: ['tool', 'invocations', 'conversion', 'language', 'versionControlProvenance', 'originalUriBaseIds', 'artifacts',
    'logicalLocations', 'graphs', 'results', 'automationDetails', 'runAggregates', 'baselineGuid', 'redactionTokens',
    'defaultEncoding', 'defaultSourceLanguage', 'newlineSequences', 'columnKind', 'externalPropertyFileReferences',
    'threadFlowLocations', 'taxonomies', 'addresses', 'translations', 'policies', 'webRequests', 'webResponses',
    'specialLocations', 'properties'],
  tool: ['driver', 'extensions', 'properties'],
  toolComponent: ['guid', 'name', 'organization', 'product', 'productSuite', 'shortDescription', 'fullDescription', 'fullName',
    'version', 'semanticVersion', 'dottedQuadFileVersion', 'releaseDateUtc', 'downloadUri', 'informationUri',
    'globalMessageStrings', 'notifications', 'rules', 'taxa', 'locations', 'language', 'contents', 'isComprehensive',
    'localizedDataSemanticVersion', 'minimumRequiredLocalizedDataSemanticVersion', 'associatedComponent',
    'translationMetadata', 'supportedTaxonomies', 'properties'],
  reportingDescriptor: ['id', 'deprecatedIds', 'guid', 'deprecatedGuids', 'name', 'deprecatedNames', 'shortDescription',
    'fullDescription', 'messageStrings', 'defaultConfiguration', 'helpUri', 'help', 'relationships', 'properties'],
  multiformatMessageString: ['text', 'markdown', 'properties'],
  reportingConfiguration: ['enabled', 'level', 'rank', 'parameters', 'properties'],
  artifact: ['description', 'location', 'parentIndex', 'offset', 'length', 'roles', 'mimeType', 'contents', 'encoding',
    'sourceLanguage', 'hashes', 'lastModifiedTimeUtc', 'properties'],
  artifactLocation: ['uri', 'uriBaseId', 'index', 'description', 'properties'],
  result: ['ruleId', 'ruleIndex', 'rule', 'kind', 'level', 'message', 'analysisTarget', 'locations', 'guid', 'correlationGuid',
    'occurrenceCount', 'partialFingerprints', 'fingerprints', 'stacks', 'codeFlows', 'graphs', 'graphTraversals',
    'relatedLocations', 'suppressions', 'baselineState', 'rank', 'attachments', 'hostedViewerUri', 'workItemUris',
    'provenance', 'fixes', 'taxa', 'webRequest', 'webResponse', 'properties'],
  message: ['text', 'markdown', 'id', 'arguments', 'properties'],
  location: ['id', 'physicalLocation', 'logicalLocations', 'message', 'annotations', 'relationships', 'properties'],
  physicalLocation: ['address', 'artifactLocation', 'region', 'contextRegion', 'properties'],
  region: ['startLine', 'startColumn', 'endLine', 'endColumn', 'charOffset', 'charLength', 'byteOffset', 'byteLength',
    'snippet', 'message', 'sourceLanguage', 'properties'],
  logicalLocation: ['name', 'index', 'fullyQualifiedName', 'decoratedName', 'parentIndex', 'kind', 'properties'],
};

const LEVELS = ['none', 'note', 'warning', 'error'];
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

export function sarifProblems(log: Json): string[] {
  const problems: string[] = [];
  const fail = (path: string, what: string) => problems.push(`${path}: ${what}`);
  const object = (value: Json, path: string, kind: string, required: string[] = []): boolean => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) { fail(path, `${kind} must be an object`); return false; }
    for (const key of Object.keys(value)) if (!allowed[kind]!.includes(key)) fail(path, `${kind} has no property "${key}"`);
    for (const key of required) if (!(key in value)) fail(path, `${kind} requires "${key}"`);
    return true;
  };
  const array = (value: Json, path: string): value is Json[] => {
    if (!Array.isArray(value)) { fail(path, 'must be an array'); return false; }
    return true;
  };
  const integer = (value: Json, path: string, minimum: number) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < minimum) fail(path, `must be an integer >= ${minimum}`);
  };
  const string = (value: Json, path: string) => {
    if (value !== undefined && typeof value !== 'string') fail(path, 'must be a string');
  };
  const uri = (value: Json, path: string, absolute: boolean) => {
    if (value === undefined) return;
    if (typeof value !== 'string' || !URI_CHARS.test(value)) { fail(path, `not a URI: ${JSON.stringify(value)}`); return; }
    if (absolute && !/^[a-z][a-z0-9+.-]*:/i.test(value)) fail(path, 'must be an absolute URI');
  };
  const multiformat = (value: Json, path: string) => {
    if (value === undefined) return;
    if (object(value, path, 'multiformatMessageString', ['text'])) string(value.text, `${path}.text`);
  };
  const artifactLocation = (value: Json, path: string) => {
    if (!object(value, path, 'artifactLocation')) return;
    uri(value.uri, `${path}.uri`, false);
    integer(value.index, `${path}.index`, -1);
  };

  if (!object(log, '$', 'sarifLog', ['version', 'runs'])) return problems;
  if (log.version !== '2.1.0') fail('$.version', 'must be "2.1.0"');
  uri(log.$schema, '$.$schema', true);
  if (!array(log.runs, '$.runs')) return problems;
  log.runs.forEach((run: Json, r: number) => {
    const at = `$.runs[${r}]`;
    if (!object(run, at, 'run', ['tool'])) return;
    if (object(run.tool, `${at}.tool`, 'tool', ['driver'])) {
      const driver = run.tool.driver;
      if (object(driver, `${at}.tool.driver`, 'toolComponent', ['name'])) {
        string(driver.name, `${at}.tool.driver.name`);
        string(driver.version, `${at}.tool.driver.version`);
        uri(driver.informationUri, `${at}.tool.driver.informationUri`, true);
        if (driver.rules !== undefined && array(driver.rules, `${at}.tool.driver.rules`)) {
          driver.rules.forEach((rule: Json, i: number) => {
            const rp = `${at}.tool.driver.rules[${i}]`;
            if (!object(rule, rp, 'reportingDescriptor', ['id'])) return;
            string(rule.id, `${rp}.id`);
            multiformat(rule.shortDescription, `${rp}.shortDescription`);
            multiformat(rule.fullDescription, `${rp}.fullDescription`);
            uri(rule.helpUri, `${rp}.helpUri`, true);
            if (rule.defaultConfiguration !== undefined && object(rule.defaultConfiguration, `${rp}.defaultConfiguration`, 'reportingConfiguration')) {
              if (!LEVELS.includes(rule.defaultConfiguration.level)) fail(`${rp}.defaultConfiguration.level`, 'not a SARIF level');
            }
          });
        }
      }
    }
    if (run.artifacts !== undefined && array(run.artifacts, `${at}.artifacts`)) {
      run.artifacts.forEach((artifact: Json, i: number) => {
        const ap = `${at}.artifacts[${i}]`;
        if (!object(artifact, ap, 'artifact')) return;
        if (artifact.location !== undefined) artifactLocation(artifact.location, `${ap}.location`);
        integer(artifact.length, `${ap}.length`, -1);
      });
    }
    if (run.results !== undefined && array(run.results, `${at}.results`)) {
      run.results.forEach((result: Json, i: number) => {
        const rp = `${at}.results[${i}]`;
        if (!object(result, rp, 'result', ['message'])) return;
        string(result.ruleId, `${rp}.ruleId`);
        integer(result.ruleIndex, `${rp}.ruleIndex`, -1);
        if (result.level !== undefined && !LEVELS.includes(result.level)) fail(`${rp}.level`, 'not a SARIF level');
        if (object(result.message, `${rp}.message`, 'message') && result.message.text === undefined && result.message.id === undefined) {
          fail(`${rp}.message`, 'needs text or id');
        }
        if (result.locations !== undefined && array(result.locations, `${rp}.locations`)) {
          result.locations.forEach((loc: Json, j: number) => {
            const lp = `${rp}.locations[${j}]`;
            if (!object(loc, lp, 'location')) return;
            const phys = loc.physicalLocation;
            if (phys !== undefined && object(phys, `${lp}.physicalLocation`, 'physicalLocation')) {
              if (phys.address === undefined && phys.artifactLocation === undefined) fail(`${lp}.physicalLocation`, 'needs address or artifactLocation');
              if (phys.artifactLocation !== undefined) artifactLocation(phys.artifactLocation, `${lp}.physicalLocation.artifactLocation`);
              if (phys.region !== undefined && object(phys.region, `${lp}.physicalLocation.region`, 'region')) {
                integer(phys.region.byteOffset, `${lp}.physicalLocation.region.byteOffset`, 0);
                integer(phys.region.byteLength, `${lp}.physicalLocation.region.byteLength`, 0);
              }
            }
            if (loc.logicalLocations !== undefined && array(loc.logicalLocations, `${lp}.logicalLocations`)) {
              loc.logicalLocations.forEach((ll: Json, k: number) => {
                if (object(ll, `${lp}.logicalLocations[${k}]`, 'logicalLocation')) string(ll.name, `${lp}.logicalLocations[${k}].name`);
              });
            }
          });
        }
      });
    }
  });
  return problems;
}
